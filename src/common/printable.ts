/** C0 and C1 controls (ESC, CR, LF, BEL, ...) and the line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- the control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

/**
 * `text` as a command may print it on the operator's terminal: a control character (an ANSI escape
 * sequence, a newline that would forge a second output line) written as `\uXXXX`. For what comes from
 * the command line or from the store (a marker's reason and note are whatever was written there).
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
