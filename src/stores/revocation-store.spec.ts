import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { FORGET_PER_SWEEP } from './expiry-index.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { expectExpiredSwept, expectForgottenInSteps, type TestClock } from '../../test/support/memory-stores.js';
import { describeWithRedis, REDIS_TEST_URL } from '../../test/support/redis.js';

const describeRedis = await describeWithRedis();

const nowSec = () => Date.now() / 1000;

describe('MemoryRevocationStore', () => {
  let t = 1_700_000_000;
  const store = new MemoryRevocationStore(() => t);

  it('a revoked jti is revoked until its expiry, then forgotten', async () => {
    await expect(store.isRevoked('a')).resolves.toBe(false);
    await store.revoke('a', t + 10);
    await expect(store.isRevoked('a')).resolves.toBe(true);
    await expect(store.isRevoked('b')).resolves.toBe(false);
    t += 9;
    await expect(store.isRevoked('a')).resolves.toBe(true);
    t += 1;
    await expect(store.isRevoked('a')).resolves.toBe(false);
  });

  it('revoking twice never shortens the entry', async () => {
    await store.revoke('c', t + 100);
    await store.revoke('c', t + 10);
    t += 50;
    await expect(store.isRevoked('c')).resolves.toBe(true);
  });

  it('expired entries are swept', async () => {
    const s = new MemoryRevocationStore(() => t);
    const clock: TestClock = { now: () => t, advance: (seconds) => void (t += seconds) };
    await expectExpiredSwept(s, (jti, exp) => s.revoke(jti, exp), clock, 20);
  });

  it('entries expiring in the same second (a cascade) are forgotten a few hundred per revocation', async () => {
    const s = new MemoryRevocationStore(() => t);
    const clock: TestClock = { now: () => t, advance: (seconds) => void (t += seconds) };
    await expectForgottenInSteps(s, (jti, exp) => s.revoke(jti, exp), clock, FORGET_PER_SWEEP);
  });

  it('an entry revoked again for longer stays revoked past its first expiry', async () => {
    const s = new MemoryRevocationStore(() => t);
    await s.revoke('longer', t + 5);
    await s.revoke('longer', t + 60);
    t += 6; // the first expiry's second is swept by the next revocation
    await s.revoke('other', t + 60);
    await expect(s.isRevoked('longer')).resolves.toBe(true);
    expect(s.size).toBe(2);
  });
});

describeRedis('RedisRevocationStore', () => {
  const prefix = `actbridge-test:${randomUUID()}:`;
  let a: RedisRevocationStore;
  let b: RedisRevocationStore;
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
    a = new RedisRevocationStore(REDIS_TEST_URL, prefix);
    b = new RedisRevocationStore(REDIS_TEST_URL, prefix);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('a jti revoked through one instance is revoked for the other, expiring with the token', async () => {
    const jti = randomUUID();
    const exp = nowSec() + 120.5;
    await expect(b.isRevoked(jti)).resolves.toBe(false);
    await a.revoke(jti, exp);
    await expect(b.isRevoked(jti)).resolves.toBe(true);
    expect(await admin.expiretime(prefix + jti)).toBe(Math.ceil(exp));
  });

  it("the feed keeps only live tokens' entries though no list is read: a revocation drops the expired ones", async () => {
    const feed = `${prefix.replace(/:$/, '')}-list`;
    await admin.zadd(feed, Math.floor(nowSec()) - 10, 'expired');
    const live = randomUUID();
    await a.revoke(live, nowSec() + 60);
    expect(await admin.zscore(feed, 'expired')).toBeNull();
    expect(await admin.zscore(feed, live)).not.toBeNull();
    await admin.del(feed, `${prefix.replace(/:$/, '')}-version`);
  });

  it('a store on a closed port rejects (callers fail closed)', async () => {
    const dead = new RedisRevocationStore('redis://127.0.0.1:1', prefix);
    await expect(dead.isRevoked('x')).rejects.toThrow();
    await dead.close();
  });
});
