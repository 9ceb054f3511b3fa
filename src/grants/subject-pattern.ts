/**
 * Whether `value` matches `pattern`, where `*` stands for any run of characters (including none) and
 * every other character for itself. No regular expressions: a pattern in a config file cannot be
 * catastrophically slow or accidentally match more than it reads as.
 */
export function matchesSubjectPattern(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}
