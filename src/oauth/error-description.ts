/** RFC 6749 §5.2, RFC 6750 §3: error_description holds only %x20-21 / %x23-5B / %x5D-7E. */
const OUTSIDE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/gu;

/**
 * `text` as an error_description may carry it: `"` becomes `'` (the text stays readable), any other
 * character outside the set (controls, `\`, non-ASCII, one `?` per code point) becomes `?`.
 */
export function errorDescription(text: string): string {
  return text.replace(OUTSIDE, (c) => (c === '"' ? "'" : '?'));
}

/** A value a description echoes: `'text'` for a string, JSON for anything else, in the same characters. */
export function quoted(value: unknown): string {
  return errorDescription(typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value)));
}
