import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { IntrospectionCache } from './introspection-cache.js';

const T0 = 1_800_000_000_000; // ms
const active = (expSec: number, extra: Record<string, unknown> = {}) => ({ active: true, exp: expSec, ...extra });

function cacheAt(ttlSec: number, max = 100) {
  const clock = { now: T0 };
  return { cache: new IntrospectionCache(ttlSec, max, () => clock.now), clock };
}

describe('IntrospectionCache', () => {
  it('keys by SHA-256 of the token, never the token itself', () => {
    const key = IntrospectionCache.keyOf('secret-opaque-token');
    expect(key).toBe(createHash('sha256').update('secret-opaque-token').digest('base64url'));
    expect(key).toHaveLength(43);
    expect(key).not.toContain('secret');
  });

  it.each<[string, number, Record<string, unknown>, number, boolean]>([
    ['active, within ttl and exp', 30, active(T0 / 1000 + 3600), 29_000, true],
    ['active, past the ttl', 30, active(T0 / 1000 + 3600), 30_000, false],
    ['active, past its exp before the ttl', 30, active(T0 / 1000 + 5), 5_000, false],
    ['active, just before its exp', 30, active(T0 / 1000 + 5), 4_999, true],
    ['inactive (never cached)', 30, { active: false }, 0, false],
    ['active without exp (never cached)', 30, { active: true }, 0, false],
    ['already expired (never cached)', 30, active(T0 / 1000 - 1), 0, false],
    ['ttl 0 (cache off)', 0, active(T0 / 1000 + 3600), 0, false],
  ])('%s', (_name, ttl, answer, later, hit) => {
    const { cache, clock } = cacheAt(ttl);
    cache.set('k', answer);
    clock.now += later;
    expect(cache.get('k')).toEqual(hit ? answer : undefined);
  });

  it('is bounded: the oldest entry goes first', () => {
    const { cache } = cacheAt(30, 2);
    const exp = T0 / 1000 + 3600;
    cache.set('a', active(exp, { sub: 'a' }));
    cache.set('b', active(exp, { sub: 'b' }));
    cache.set('c', active(exp, { sub: 'c' }));
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toMatchObject({ sub: 'c' });
  });
});
