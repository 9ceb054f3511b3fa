/**
 * `glob(value, pattern)` for policy conditions: shell-style patterns over claim values such as
 * GitHub's `repo:acme/app:ref:refs/heads/main` or GitLab's `project_path:group/app:ref_type:branch:ref:main`.
 *
 * - The whole value must match (anchored at both ends); comparison is case-sensitive.
 * - `/` and `:` separate segments: `*` matches any run (possibly empty) of characters within one segment,
 *   `?` exactly one character within a segment, `**` any run of characters across segments.
 *   So `repo:acme/*:ref:refs/heads/main` matches every repository of `acme` on `main`, but not
 *   `repo:acme/app:ref:refs/heads/x:ref:refs/heads/main`, and `refs/heads/release/*` does not match
 *   `refs/heads/release/1/evil`.
 * - `\` makes the next character literal (`\*`, `\?`, `\\`). There are no character classes or braces.
 *
 * Matching simulates the pattern as a set of positions (a Thompson NFA): linear in the value's length
 * times the pattern's, whatever the pattern, so a claim value can never make a policy backtrack.
 */

type Token = { readonly kind: 'literal'; readonly char: string } | { readonly kind: 'one' | 'star' | 'globstar' };

const SEPARATORS = new Set(['/', ':']);

export class GlobSyntaxError extends Error {
  override readonly name = 'GlobSyntaxError';
}

/** Parses a pattern, or throws GlobSyntaxError (only a trailing lone `\` is malformed). */
export function parseGlob(pattern: string): readonly Token[] {
  const tokens: Token[] = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      if (i + 1 >= chars.length) throw new GlobSyntaxError('glob pattern ends with a lone "\\"');
      tokens.push({ kind: 'literal', char: chars[++i]! });
    } else if (c === '*') {
      if (chars[i + 1] === '*') {
        while (chars[i + 1] === '*') i++;
        tokens.push({ kind: 'globstar' });
      } else {
        tokens.push({ kind: 'star' });
      }
    } else if (c === '?') {
      tokens.push({ kind: 'one' });
    } else {
      tokens.push({ kind: 'literal', char: c });
    }
  }
  return tokens;
}

/** Positions reachable from `states` without consuming a character (a star may match nothing). */
function closure(tokens: readonly Token[], states: Set<number>): Set<number> {
  const out = new Set<number>();
  const stack = [...states];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (out.has(i)) continue;
    out.add(i);
    const token = tokens[i];
    if (token && (token.kind === 'star' || token.kind === 'globstar')) stack.push(i + 1);
  }
  return out;
}

export function matchGlob(tokens: readonly Token[], value: string): boolean {
  let states = closure(tokens, new Set([0]));
  for (const c of value) {
    const next = new Set<number>();
    for (const i of states) {
      const token = tokens[i];
      if (!token) continue;
      switch (token.kind) {
        case 'literal':
          if (token.char === c) next.add(i + 1);
          break;
        case 'one':
          if (!SEPARATORS.has(c)) next.add(i + 1);
          break;
        case 'star':
          if (!SEPARATORS.has(c)) next.add(i);
          break;
        case 'globstar':
          next.add(i);
          break;
      }
    }
    if (next.size === 0) return false;
    states = closure(tokens, next);
  }
  return states.has(tokens.length);
}

// Patterns are nearly always literals in the anchor file; a pattern taken from a claim is parsed each
// time it is new. The cache is bounded so that such patterns cannot grow memory.
const CACHE_LIMIT = 1000;
const cache = new Map<string, readonly Token[]>();

/** The `glob()` function as CEL calls it. Throws GlobSyntaxError for a malformed pattern. */
export function glob(value: string, pattern: string): boolean {
  let tokens = cache.get(pattern);
  if (!tokens) {
    tokens = parseGlob(pattern);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, tokens);
  }
  return matchGlob(tokens, value);
}
