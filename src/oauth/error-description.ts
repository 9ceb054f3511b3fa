/** RFC 6749 §5.2, RFC 6750 §3: error_description holds only %x20-21 / %x23-5B / %x5D-7E. */
const OUTSIDE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/gu;

/**
 * `text` as an error_description may carry it: `"` becomes `'` (the text stays readable), any other
 * character outside the set (controls, `\`, non-ASCII, one `?` per code point) becomes `?`.
 */
export function errorDescription(text: string): string {
  return text.replace(OUTSIDE, (c) => (c === '"' ? "'" : '?'));
}

/** Longest part of an echoed value a description repeats: a header field may be a whole body long. */
const QUOTED_LENGTH = 200;

/**
 * A value a description echoes: `'text'` for a string, JSON for anything else, in the same characters,
 * cut at QUOTED_LENGTH characters with `...` (the audit detail may carry more).
 */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const points = [...text];
  const shown = points.length > QUOTED_LENGTH ? `${points.slice(0, QUOTED_LENGTH).join('')}...` : text;
  return errorDescription(typeof value === 'string' ? `'${shown}'` : shown);
}
