import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { FORGET_PER_SWEEP } from './expiry-index.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { RedisReplayStore } from './redis-replay-store.js';
import type { ReplayStore } from './replay-store.js';
import { expectExpiredSwept, expectForgottenInSteps, type TestClock } from '../../test/support/memory-stores.js';
import { describeWithRedis, REDIS_TEST_URL } from '../../test/support/redis.js';

const describeRedis = await describeWithRedis();

const nowSec = () => Date.now() / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store under test, plus how to let a recorded key expire. */
interface Harness {
  /** One store instance. */
  store(): ReplayStore;
  /** A second instance sharing the same state (another STS instance), if the store is shared. */
  peer?(): ReplayStore;
  /** An expiry time a little in the future, and a way to get past it. */
  shortExpiry(): number;
  passExpiry(expiresAt: number): Promise<void>;
}

function behaviour(name: string, harness: () => Harness, shared: boolean): void {
  describe(`${name}: shared behaviour`, () => {
    let h: Harness;
    let key: (label: string) => string;

    beforeAll(() => {
      h = harness();
      const run = randomUUID();
      key = (label) => `${run}:${label}`;
    });

    it('first consume is true, the second false', async () => {
      const store = h.store();
      const exp = nowSec() + 60;
      await expect(store.consume(key('once'), exp)).resolves.toBe(true);
      await expect(store.consume(key('once'), exp)).resolves.toBe(false);
      await expect(store.consume(key('once'), exp + 600)).resolves.toBe(false);
    });

    it('different keys are independent', async () => {
      const store = h.store();
      const exp = nowSec() + 60;
      await expect(store.consume(key('a'), exp)).resolves.toBe(true);
      await expect(store.consume(key('b'), exp)).resolves.toBe(true);
      await expect(store.consume(key('a'), exp)).resolves.toBe(false);
      await expect(store.consume(key('b'), exp)).resolves.toBe(false);
      await expect(store.consume(key('c'), exp)).resolves.toBe(true);
    });

    it('after expiry the key can be used again', async () => {
      const store = h.store();
      const exp = h.shortExpiry();
      await expect(store.consume(key('expiring'), exp)).resolves.toBe(true);
      await expect(store.consume(key('expiring'), exp)).resolves.toBe(false);
      await h.passExpiry(exp);
      await expect(store.consume(key('expiring'), nowSec() + 60)).resolves.toBe(true);
      await expect(store.consume(key('expiring'), nowSec() + 60)).resolves.toBe(false);
    });

    it('50 concurrent consumes of one key: exactly one true', async () => {
      const store = h.store();
      const exp = nowSec() + 60;
      const results = await Promise.all(Array.from({ length: 50 }, () => store.consume(key('race'), exp)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    // An in-process store is not shared between instances by design.
    const sharedIt = (title: string, test: () => Promise<void>) => {
      if (shared) it(title, test);
    };

    sharedIt('50 concurrent consumes of one key split over two instances: exactly one true', async () => {
      const [a, b] = [h.store(), h.peer!()];
      const exp = nowSec() + 60;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).consume(key('race-2'), exp)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      await expect(a.consume(key('race-2'), exp)).resolves.toBe(false);
      await expect(b.consume(key('race-2'), exp)).resolves.toBe(false);
    });

    sharedIt('a key consumed on one instance is refused on the other', async () => {
      const exp = nowSec() + 60;
      await expect(h.store().consume(key('cross'), exp)).resolves.toBe(true);
      await expect(h.peer!().consume(key('cross'), exp)).resolves.toBe(false);
    });
  });
}

describe('MemoryReplayStore', () => {
  let t = 1_700_000_000;
  const clock: TestClock = { now: () => t, advance: (seconds) => void (t += seconds) };
  const store = new MemoryReplayStore(() => t);

  behaviour(
    'MemoryReplayStore',
    () => ({
      store: () => store,
      shortExpiry: () => t + 30,
      passExpiry: async (expiresAt) => {
        t = expiresAt + 1;
      },
    }),
    false,
  );

  it('a key is refused until exactly its expiry, then accepted', async () => {
    const s = new MemoryReplayStore(() => t);
    const exp = t + 10;
    await expect(s.consume('k', exp)).resolves.toBe(true);
    t = exp - 0.001;
    await expect(s.consume('k', exp)).resolves.toBe(false);
    t = exp;
    await expect(s.consume('k', exp + 10)).resolves.toBe(true);
  });

  it('expired entries are swept, so memory is bounded by the live set', async () => {
    const s = new MemoryReplayStore(() => t);
    await expectExpiredSwept(s, (key, exp) => s.consume(key, exp), clock, 100);
  });

  it('keys expiring in the same second are forgotten a few hundred per consume, not all in one', async () => {
    const s = new MemoryReplayStore(() => t);
    await expectForgottenInSteps(s, (key, exp) => s.consume(key, exp), clock, FORGET_PER_SWEEP);
  });

  it('a key used again after its expiry is held to its new expiry, not forgotten with its old one', async () => {
    const s = new MemoryReplayStore(() => t);
    const first = t + 5;
    await expect(s.consume('again', first)).resolves.toBe(true);
    t = first + 0.5;
    await expect(s.consume('again', t + 60)).resolves.toBe(true);
    t += 2; // the first expiry's second is swept here
    await expect(s.consume('other', t + 60)).resolves.toBe(true);
    await expect(s.consume('again', t + 60)).resolves.toBe(false);
  });

  it('uses real time by default', async () => {
    const s = new MemoryReplayStore();
    await expect(s.consume('k', nowSec() + 60)).resolves.toBe(true);
    await expect(s.consume('k', nowSec() + 60)).resolves.toBe(false);
    await expect(s.consume('expired', nowSec() - 1)).resolves.toBe(true);
  });
});

describeRedis('RedisReplayStore', () => {
  const prefix = `actbridge-test:${randomUUID()}:`;
  const stores: RedisReplayStore[] = [];
  let a: RedisReplayStore;
  let b: RedisReplayStore;
  let admin: Redis;

  const open = () => {
    // Generous command timeout: these test the store's semantics on a busy machine, not its time bound.
    const store = new RedisReplayStore(REDIS_TEST_URL, prefix, { timeoutMs: 10_000 });
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    admin = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
    a = open();
    b = open();
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  behaviour(
    'RedisReplayStore',
    () => ({
      store: () => a,
      peer: () => b,
      // Redis expiry is whole seconds (EXAT). The second boundary after next: at least 1 s away, so the
      // two consumes before it cannot straddle it (the next boundary could be a millisecond away).
      shortExpiry: () => Math.floor(nowSec()) + 2,
      passExpiry: async (expiresAt) => {
        await sleep(Math.max(0, expiresAt * 1000 - Date.now()) + 100);
      },
    }),
    true,
  );

  it('stores keys under the configured prefix, expiring at expiresAt (rounded up)', async () => {
    const id = randomUUID();
    const exp = nowSec() + 120.2;
    await expect(a.consume(id, exp)).resolves.toBe(true);
    expect(await admin.get(prefix + id)).toBe('1');
    const expireTime = await admin.expiretime(prefix + id);
    expect(expireTime).toBe(Math.ceil(exp));
  });

  it('expiresAt in the past still records the key (for the rest of the current second at least)', async () => {
    // EXAT is floor(now)+1 for a past expiresAt: between 1 ms and 1 s. Start early in a second so the
    // key is certainly still there for the immediate second consume.
    while (Date.now() % 1000 > 500) await sleep(10);
    const id = randomUUID();
    const past = nowSec() - 30;
    await expect(a.consume(id, past)).resolves.toBe(true);
    await expect(b.consume(id, past)).resolves.toBe(false);
    const pttl = await admin.pttl(prefix + id);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1000);
  });

  it('a store pointed at a closed port rejects within a few seconds, and closes cleanly', async () => {
    const dead = new RedisReplayStore('redis://127.0.0.1:1', prefix);
    const start = Date.now();
    let watchdog: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      dead.consume(randomUUID(), nowSec() + 60).then(
        (value) => ({ settled: 'resolved', value }),
        (error: unknown) => ({ settled: 'rejected', value: error }),
      ),
      new Promise<{ settled: string; value: unknown }>((resolve) => {
        watchdog = setTimeout(() => resolve({ settled: 'hung', value: undefined }), 5000);
      }),
    ]);
    clearTimeout(watchdog);
    expect(outcome.settled).toBe('rejected');
    expect(Date.now() - start).toBeLessThan(5000);
    const closing = Date.now();
    await dead.close();
    expect(Date.now() - closing).toBeLessThan(3000);
  });
});
