import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { revokeWithDescendants, CASCADE_BATCH } from './cascade.js';
import { MAX_ANCESTORS, type NewLineageEntry, type LineageStore } from './lineage-store.js';
import { entryOf, expiryOf, MemoryLineageStore, storedForm } from './memory-lineage-store.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisLineageStore } from './redis-lineage-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { confirmStoreReset } from './store-epoch.js';
import type { RevocationStore } from './revocation-store.js';
import { describeWithRedis, REDIS_TEST_URL } from '../../test/support/redis.js';

const describeRedis = await describeWithRedis();

interface Stores {
  readonly lineage: LineageStore;
  readonly revocations: RevocationStore;
}

const now = () => Math.floor(Date.now() / 1000);

/** A token as the issuer records it: its parents (jtis or root keys), for subject `sub:alice`. */
function entry(jti: string, parents: readonly string[], ttl = 600): NewLineageEntry {
  return {
    jti,
    parents,
    subject: 'sub:alice',
    client_id: 'agent',
    audience: ['https://api.example'],
    typ: 'at+jwt',
    iat: now(),
    exp: now() + ttl,
  };
}

async function expectRecorded(store: LineageStore, token: NewLineageEntry, known: readonly string[] = []) {
  expect(await store.record(token, known)).toMatchObject({ recorded: true });
}

/** The contract every lineage store keeps, run against the memory and the Redis implementation. */
function contract(name: string, open: () => Stores) {
  describe(name, () => {
    let stores: Stores;
    beforeAll(() => {
      stores = open();
    });

    it('records a chain and answers its ancestors; nothing revoked yet', async () => {
      const [root, a, b, c] = [`root:${randomUUID()}`, randomUUID(), randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [root]));
      const aAnc = (await stores.lineage.inspect([a])).ancestors;
      expect(new Set(aAnc)).toEqual(new Set([root, 'sub:alice']));
      await expectRecorded(stores.lineage, entry(b, [a]));
      await expectRecorded(stores.lineage, entry(c, [b]));
      const inspection = await stores.lineage.inspect([c]);
      expect(inspection.revoked).toBeUndefined();
      expect(new Set(inspection.ancestors)).toEqual(new Set([b, a, root, 'sub:alice']));
      const [found, missing] = await stores.lineage.entries([c, randomUUID()]);
      expect(found).toMatchObject({ jti: c, parents: [b], client_id: 'agent', typ: 'at+jwt' });
      expect(missing).toBeUndefined();
      expect(await stores.lineage.children([a])).toEqual([{ jti: b, exp: expect.any(Number) }]);
    });

    it('revoking the top of a chain reaches every descendant; inspect names the origin', async () => {
      const [a, b, c, other] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const root = `root:${randomUUID()}`;
      await expectRecorded(stores.lineage, entry(a, [root]));
      await expectRecorded(stores.lineage, entry(b, [a]));
      await expectRecorded(stores.lineage, entry(c, [b]));
      await expectRecorded(stores.lineage, entry(other, [`root:${randomUUID()}`]));
      const result = await revokeWithDescendants(stores.revocations, stores.lineage, { key: a, exp: now() + 600 });
      expect(result).toMatchObject({ descendants: 2, newlyRevoked: 2 });
      expect(await stores.lineage.inspect([c])).toMatchObject({ revoked: { key: c, origin: a } });
      expect(await stores.lineage.inspect([a])).toMatchObject({ revoked: { key: a, origin: a } });
      expect((await stores.lineage.inspect([other])).revoked).toBeUndefined();
      const listed = (await stores.revocations.list()).entries.map((e) => e.jti);
      expect(listed).toEqual(expect.arrayContaining([a, b, c]));
      expect(listed).not.toContain(other);
    });

    it('revoking again completes a cascade cut short; only what it had not reached counts as newly revoked', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [`root:${randomUUID()}`]));
      await expectRecorded(stores.lineage, entry(b, [a]));
      await expectRecorded(stores.lineage, entry(c, [b]));
      // The first walk flagged A and B, then the store failed.
      expect(
        await stores.revocations.revokeMany([
          { key: a, exp: now() + 600, origin: a },
          { key: b, exp: now() + 600, origin: a },
        ]),
      ).toEqual([a, b]);
      const again = await revokeWithDescendants(stores.revocations, stores.lineage, { key: a, exp: now() + 600 });
      expect(again).toMatchObject({ descendants: 2, newlyRevoked: 1 });
      expect((await stores.revocations.list()).entries.map((e) => e.jti)).toEqual(expect.arrayContaining([a, b, c]));
      const complete = await revokeWithDescendants(stores.revocations, stores.lineage, { key: a, exp: now() + 600 });
      expect(complete).toMatchObject({ descendants: 2, newlyRevoked: 0 });
    });

    it('a walk cut short stays marked pending until a walk completes it; only what it reached is reported', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [`root:${randomUUID()}`]));
      await expectRecorded(stores.lineage, entry(b, [a]));
      await expectRecorded(stores.lineage, entry(c, [b]));
      const walk = { key: a, exp: now() + 600 };
      const failing: LineageStore = {
        ...stores.lineage,
        children: () => Promise.reject(new Error('Command timed out')),
      };
      await expect(revokeWithDescendants(stores.revocations, failing, walk)).rejects.toThrow('Command timed out');
      expect(await stores.revocations.isRevoked(a)).toBe(true);
      expect(await stores.revocations.pendingWalks(0, 1000)).toContainEqual(walk);
      // Marked just now: not yet for a resumer that leaves walks younger than its interval to their instance.
      expect(await stores.revocations.pendingWalks(60_000, 1000)).not.toContainEqual(walk);

      const reached: string[] = [];
      const done = await revokeWithDescendants(stores.revocations, stores.lineage, walk, {
        reached: (r) => reached.push(r.key),
      });
      expect(done).toMatchObject({ descendants: 2, newlyRevoked: 2 });
      expect(reached).toEqual([b, c]);
      expect(await stores.revocations.pendingWalks(0, 1000)).not.toContainEqual(walk);
    });

    it('an expired pending walk is dropped, not walked', async () => {
      const key = randomUUID();
      await stores.revocations.beginWalk({ key, exp: now() - 1, origin: key });
      expect((await stores.revocations.pendingWalks(0, 1000)).map((w) => w.key)).not.toContain(key);
    });

    it('an ancestor revoked on its own (cascade still to come) already refuses the descendants', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [`root:${randomUUID()}`]));
      await expectRecorded(stores.lineage, entry(b, [a]));
      await stores.revocations.revokeMany([{ key: a, exp: now() + 60, origin: a }]);
      expect(await stores.lineage.inspect([b])).toMatchObject({ revoked: { key: a, origin: a } });
    });

    it('a root key revokes what was issued from it; the version changes with every listed revocation', async () => {
      const root = `root:${randomUUID()}`;
      const [a, b] = [randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [root]));
      await expectRecorded(stores.lineage, entry(b, [root]));
      const before = await stores.revocations.version();
      const result = await revokeWithDescendants(stores.revocations, stores.lineage, { key: root, exp: now() + 60 });
      expect(result.descendants).toBe(2);
      expect(await stores.revocations.version()).not.toBe(before);
      expect((await stores.revocations.list()).entries.map((e) => e.jti)).not.toContain(root);
      expect(await stores.lineage.inspect([b])).toMatchObject({ revoked: { key: b, origin: root } });
    });

    it('recording refuses, in the same step, a token whose parent, ancestor, known key or subject is revoked', async () => {
      const [root, a, b] = [`root:${randomUUID()}`, randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [root]));
      await stores.revocations.revokeMany([{ key: root, exp: now() + 60, origin: root }]);
      expect(await stores.lineage.record(entry(b, [a]), [])).toEqual({
        recorded: false,
        ancestors: 3,
        revoked: { key: root, origin: root },
      });
      expect(await stores.lineage.entries([b])).toEqual([undefined]);
      const subjectOf = `sub:${randomUUID()}`;
      await stores.revocations.revokeMany([{ key: subjectOf, exp: now() + 60, origin: subjectOf }]);
      const other = `root:${randomUUID()}`;
      expect(await stores.lineage.record(entry(randomUUID(), [other]), [subjectOf])).toMatchObject({
        recorded: false,
        revoked: { key: subjectOf },
      });
      expect(await stores.lineage.record({ ...entry(randomUUID(), [other]), subject: subjectOf }, [])).toMatchObject({
        recorded: false,
        revoked: { key: subjectOf },
      });
    });

    it('revoking a known key (a presented subject other than the issued one, an actor) reaches the token and its descendants', async () => {
      // A rule formed another `sub` (subject sub:alice), the upstream subject and the actor are known keys.
      const [upstream, actor] = [`sub:${randomUUID()}`, `sub:${randomUUID()}`];
      const [a, b] = [randomUUID(), randomUUID()];
      await expectRecorded(stores.lineage, entry(a, [`root:${randomUUID()}`, `root:${randomUUID()}`]), [
        upstream,
        actor,
      ]);
      await expectRecorded(stores.lineage, entry(b, [a]));
      for (const key of [upstream, actor]) {
        const result = await revokeWithDescendants(stores.revocations, stores.lineage, { key, exp: now() + 60 });
        expect(result.descendants).toBe(2);
        expect(await stores.lineage.inspect([b])).toMatchObject({ revoked: { key: b, origin: upstream } });
        expect((await stores.revocations.list()).entries.map((e) => e.jti)).toEqual(expect.arrayContaining([a, b]));
      }
    });

    it(`refuses more than ${MAX_ANCESTORS} ancestors`, async () => {
      const many = Array.from({ length: MAX_ANCESTORS }, () => `root:${randomUUID()}`);
      expect(await stores.lineage.record(entry(randomUUID(), many), [])).toEqual({
        recorded: false,
        ancestors: MAX_ANCESTORS + 1,
      });
    });

    it(`a wide tree: ${3 * CASCADE_BATCH} children and a grandchild each for some, revoked in batches`, async () => {
      const top = randomUUID();
      await expectRecorded(stores.lineage, entry(top, [`root:${randomUUID()}`]));
      const children = Array.from({ length: 3 * CASCADE_BATCH }, () => randomUUID());
      for (const child of children) await expectRecorded(stores.lineage, entry(child, [top]));
      const grandchildren = children.slice(0, 100).map((child) => ({ child, jti: randomUUID() }));
      for (const g of grandchildren) await expectRecorded(stores.lineage, entry(g.jti, [g.child]));
      const result = await revokeWithDescendants(stores.revocations, stores.lineage, { key: top, exp: now() + 600 });
      expect(result.descendants).toBe(3 * CASCADE_BATCH + 100);
      expect(result.batches).toBe(1 + 3 + 1);
      for (const key of [children[0]!, children.at(-1)!, grandchildren.at(-1)!.jti]) {
        expect((await stores.lineage.inspect([key])).revoked?.origin).toBe(top);
      }
    }, 60_000);

    it('expired children are not revoked (nothing to revoke) and do not count', async () => {
      const top = randomUUID();
      await expectRecorded(stores.lineage, entry(top, [`root:${randomUUID()}`]));
      await stores.lineage.record({ ...entry(randomUUID(), [top]), exp: now() - 1 }, []);
      expect(
        (await revokeWithDescendants(stores.revocations, stores.lineage, { key: top, exp: now() + 60 })).descendants,
      ).toBe(0);
    });
  });
}

contract('MemoryLineageStore', () => {
  const revocations = new MemoryRevocationStore();
  return { revocations, lineage: new MemoryLineageStore(revocations) };
});

describeRedis('Redis stores', () => {
  const prefix = `actbridge-test:${randomUUID()}:`;
  let connection: RedisConnection;
  let stores: Stores;
  beforeAll(() => {
    connection = new RedisConnection(REDIS_TEST_URL, { timeoutMs: 10_000 });
    const revocations = new RedisRevocationStore(connection, `${prefix}revoked:`);
    stores = { revocations, lineage: new RedisLineageStore(connection, `${prefix}revoked:`, `${prefix}lineage:`) };
  });
  afterAll(async () => {
    await connection.close();
    const admin = new Redis(REDIS_TEST_URL);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });
  contract('RedisLineageStore', () => stores);

  it('entries and children expire with the child', async () => {
    const admin = new Redis(REDIS_TEST_URL);
    const [a, b] = [randomUUID(), randomUUID()];
    await expectRecorded(stores.lineage, entry(a, ['root:x'], 100));
    await expectRecorded(stores.lineage, entry(b, ['root:x'], 300));
    expect(await admin.expiretime(`${prefix}lineage:${a}`)).toBeLessThanOrEqual(now() + 101);
    expect(await admin.expiretime(`${prefix}lineage-children:root:x`)).toBeGreaterThanOrEqual(now() + 299);
    await admin.quit();
  });

  it("an index drops its expired children as new ones come: a subject's does not keep every token it ever had", async () => {
    const admin = new Redis(REDIS_TEST_URL);
    const subject = `sub:${randomUUID()}`;
    const [old, fresh] = [randomUUID(), randomUUID()];
    await expectRecorded(stores.lineage, { ...entry(old, [`root:${randomUUID()}`]), subject, exp: now() - 1 });
    await expectRecorded(stores.lineage, { ...entry(fresh, [`root:${randomUUID()}`]), subject });
    expect(await admin.zrange(`${prefix}lineage-children:${subject}`, '0', '-1')).toEqual([fresh]);
    await admin.quit();
  });
});

describe('MemoryLineageStore memory', () => {
  /** A store on a clock the test moves; `at` makes an entry under root:r expiring at `exp`. */
  function clocked() {
    const clock = { t: 1_700_000_000 };
    const revocations = new MemoryRevocationStore(() => clock.t);
    const store = new MemoryLineageStore(revocations, () => clock.t);
    const at = (jti: string, exp: number): NewLineageEntry => ({ ...entry(jti, ['root:r']), iat: clock.t, exp });
    return { clock, store, at };
  }

  it('forgets expired entries and their places in the children indexes, touching only what expired', async () => {
    const { clock, store, at } = clocked();
    for (let i = 0; i < 50; i++) await store.record(at(`short-${i}`, clock.t + 10), []);
    await store.record(at('long', clock.t + 1000), []);
    expect(store.size).toBe(51);
    clock.t += 11;
    await store.record(at('new', clock.t + 10), []);
    expect(store.size).toBe(2);
    expect((await store.children(['root:r'])).map((c) => c.jti).sort()).toEqual(['long', 'new']);
    clock.t += 5000;
    await store.record(at('later', clock.t + 10), []);
    expect(store.size).toBe(1);
  });

  it('keeps a lone child as itself, a second makes a set, and forgetting either leaves the other', async () => {
    const { clock, store } = clocked();
    const under = (jti: string, root: string, ttl: number): NewLineageEntry => ({
      ...entry(jti, [root]),
      iat: clock.t,
      exp: clock.t + ttl,
    });
    const childrenOf = async (key: string) => (await store.children([key])).map((c) => c.jti).sort();
    await store.record(under('lone', 'root:one', 10), []);
    // The same parent named twice (one token presented as subject and as actor) is one child.
    await store.record({ ...under('twice', 'root:two', 100), parents: ['root:two', 'root:two'] }, []);
    expect(await childrenOf('root:one')).toEqual(['lone']);
    expect(await childrenOf('root:two')).toEqual(['twice']);
    await store.record(under('second', 'root:one', 100), []);
    expect(await childrenOf('root:one')).toEqual(['lone', 'second']);
    expect(await childrenOf('sub:alice')).toEqual(['lone', 'second', 'twice']);
    clock.t += 11;
    await store.record(under('later', 'root:three', 100), []);
    expect(await childrenOf('root:one')).toEqual(['second']);
    clock.t += 100;
    await store.record(under('last', 'root:one', 100), []);
    expect(store.size).toBe(1);
    expect(await childrenOf('root:one')).toEqual(['last']);
    expect(await childrenOf('root:two')).toEqual([]);
    expect(await childrenOf('sub:alice')).toEqual(['last']);
    // Nothing left behind for the forgotten: the indexes are those of the one live token.
    const indexes = (store as unknown as { kids: Map<string, unknown> }).kids;
    expect([...indexes.keys()].sort()).toEqual(['root:one', 'sub:alice']);
  });

  it('a token indexed under a known key leaves that index when it is forgotten', async () => {
    const { clock, store, at } = clocked();
    await store.record(at('known', clock.t + 10), ['sub:upstream']);
    expect((await store.children(['sub:upstream'])).map((c) => c.jti)).toEqual(['known']);
    clock.t += 11;
    await store.record(at('later', clock.t + 10), []);
    const indexes = (store as unknown as { kids: Map<string, unknown> }).kids;
    expect([...indexes.keys()].sort()).toEqual(['root:r', 'sub:alice']);
  });

  it('stores an entry as one JSON string, expiry first and ancestors past the parents only, and reads it back whole', () => {
    const full = {
      jti: 'j',
      parents: ['p1', 'root:r', 'p1'],
      ancestors: ['p1', 'root:r', 'p1', 'sub:alice', 'g'],
      subject: 'sub:alice',
      client_id: 'agent',
      actor: 'tool',
      audience: ['https://api.example'],
      typ: 'at+jwt',
      iat: 1_700_000_000,
      exp: 1_700_000_600,
    };
    const stored = storedForm(full);
    expect(stored).toBe(
      '{"exp":1700000600,"jti":"j","parents":["p1","root:r","p1"],"subject":"sub:alice","client_id":"agent",' +
        '"actor":"tool","audience":["https://api.example"],"typ":"at+jwt","iat":1700000000,"above":["sub:alice","g"]}',
    );
    expect(expiryOf(stored)).toBe(1_700_000_600);
    expect(entryOf(stored)).toEqual(full);
    const { actor: _, ...anonymous } = full;
    expect(entryOf(storedForm(anonymous))).toEqual(anonymous);
    expect(expiryOf(storedForm({ ...full, exp: 1_700_000_600.5 }))).toBe(1_700_000_600.5);
  });

  it('forgets tokens that expire in the same second a few hundred per record, never using them meanwhile', async () => {
    const { clock, store, at } = clocked();
    for (let i = 0; i < 1000; i++) await store.record(at(`batch-${i}`, clock.t + 10), []);
    clock.t += 11;
    await store.record(at('after-1', clock.t + 100), []);
    expect(store.size).toBe(1000 - 256 + 1);
    expect((await store.children(['root:r'])).map((c) => c.jti)).toEqual(['after-1']);
    expect(await store.entries(['batch-0', 'batch-999'])).toEqual([undefined, undefined]);
    for (let i = 2; i <= 4; i++) await store.record(at(`after-${i}`, clock.t + 100), []);
    expect(store.size).toBe(4);
  });
});

describeRedis('RedisLineageStore after the store lost its memory', () => {
  it('records tokens issued from upstream roots; refuses to record or inspect what descends from its own tokens', async () => {
    const prefix = `actbridge-test:${randomUUID()}:`;
    const admin = new Redis(REDIS_TEST_URL);
    // A store this test knows, before the connection reads its marker (else a Redis started less than
    // the revocation window ago counts as a loss).
    await confirmStoreReset(admin, 'test: a known store', `${prefix}epoch`);
    const connection = new RedisConnection(REDIS_TEST_URL, { timeoutMs: 10_000, epochKey: `${prefix}epoch` });
    try {
      const lineage = new RedisLineageStore(connection, `${prefix}revoked:`, `${prefix}lineage:`);
      const a = randomUUID();
      await expectRecorded(lineage, entry(a, [`root:${randomUUID()}`]));
      await lineage.inspect([a]); // the marker is known now
      await admin.del(`${prefix}epoch`); // as a restart without persistence would
      await expect(lineage.record(entry(randomUUID(), [a]), [])).rejects.toThrow(/revocation memory lost/);
      await expect(lineage.inspect([a])).rejects.toThrow(/revocation memory lost/);
      await expectRecorded(lineage, entry(randomUUID(), [`root:${randomUUID()}`]));
    } finally {
      await connection.close();
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });
});
