import { describe, expect, it } from '@jest/globals';
import { matchesSubjectPattern } from './subject-pattern.js';

const rows: Array<{ pattern: string; value: string; expect: boolean }> = [
  { pattern: 'alice', value: 'alice', expect: true },
  { pattern: 'alice', value: 'alice2', expect: false },
  { pattern: 'alice', value: 'Alice', expect: false },
  { pattern: '*', value: '', expect: true },
  { pattern: '*', value: 'anything at all', expect: true },
  { pattern: 'repo:acme/*', value: 'repo:acme/api:ref:refs/heads/main', expect: true },
  { pattern: 'repo:acme/*', value: 'repo:acme-evil/api', expect: false },
  { pattern: 'repo:acme/*', value: 'repo:acme/', expect: true },
  { pattern: '*@example.com', value: 'bob@example.com', expect: true },
  { pattern: '*@example.com', value: 'bob@example.com.evil', expect: false },
  { pattern: 'a*b*c', value: 'abc', expect: true },
  { pattern: 'a*b*c', value: 'a-x-b-y-c', expect: true },
  { pattern: 'a*b*c', value: 'acb', expect: false },
  // The middle part must not overlap the suffix.
  { pattern: 'a*bc*c', value: 'abc', expect: false },
  { pattern: 'ab*ba', value: 'aba', expect: false },
  // Regex metacharacters are plain characters.
  { pattern: 'user.+', value: 'userx', expect: false },
  { pattern: 'user.+', value: 'user.+', expect: true },
  { pattern: '^svc$', value: 'svc', expect: false },
];

describe('matchesSubjectPattern', () => {
  it.each(rows)('$pattern ~ $value → $expect', ({ pattern, value, expect: expected }) => {
    expect(matchesSubjectPattern(pattern, value)).toBe(expected);
  });
});
