import { describe, expect, it } from '@jest/globals';
import { glob, GlobSyntaxError, parseGlob } from './wildcard.js';

describe('glob', () => {
  it.each([
    // Literals: whole-value, case-sensitive.
    ['acme/app', 'acme/app', true],
    ['acme/app', 'acme/ap', false],
    ['acme/app-x', 'acme/app', false],
    ['Acme/app', 'acme/app', false],
    ['', '', true],
    // * stays within a segment (separators / and :).
    ['acme/app', 'acme/*', true],
    ['acme/', 'acme/*', true],
    ['acme/app/sub', 'acme/*', false],
    ['acme/app:x', 'acme/*', false],
    ['repo:acme/app:ref:refs/heads/main', 'repo:acme/*:ref:refs/heads/main', true],
    ['repo:acme/app:ref:refs/heads/x:ref:refs/heads/main', 'repo:acme/*:ref:refs/heads/main', false],
    ['repo:evil/acme:ref:refs/heads/main', 'repo:acme/*:ref:refs/heads/main', false],
    ['refs/heads/release/1.2', 'refs/heads/release/*', true],
    ['refs/heads/release/1/evil', 'refs/heads/release/*', false],
    ['v1.2.3', 'v*.*', true],
    // ** crosses segments.
    ['refs/heads/feature/a/b', 'refs/heads/**', true],
    ['refs/heads/', 'refs/heads/**', true],
    ['refs/tags/v1', 'refs/heads/**', false],
    ['acme/app/.github/workflows/deploy.yml@refs/heads/main', 'acme/**@refs/heads/main', true],
    ['acme/app/.github/workflows/deploy.yml@refs/heads/dev', 'acme/**@refs/heads/main', false],
    ['a/b:c', '***', true],
    // ? is one character within a segment.
    ['v1', 'v?', true],
    ['v12', 'v?', false],
    ['a/b', 'a?b', false],
    ['é', '?', true],
    // \ escapes.
    ['a*b', 'a\\*b', true],
    ['axb', 'a\\*b', false],
    ['a?', 'a\\?', true],
    ['a\\b', 'a\\\\b', true],
  ])('glob(%j, %j) is %s', (value, pattern, expected) => {
    expect(glob(value, pattern)).toBe(expected);
  });

  it('refuses a pattern ending in a lone backslash', () => {
    expect(() => parseGlob('abc\\')).toThrow(GlobSyntaxError);
  });

  it('stays linear on patterns that make backtracking matchers explode', () => {
    const value = 'a'.repeat(5000);
    const pattern = `${'*a'.repeat(40)}b`;
    expect(glob(value, pattern)).toBe(false);
    expect(glob(`${value}/`.repeat(20), `${'**a'.repeat(30)}x`)).toBe(false);
  });
});
