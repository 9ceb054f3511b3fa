import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../test/support/postgres.js';
import { sealJson } from './envelope.js';
import { KeyRing } from './key-ring.js';
import { MemoryVaultStore } from './memory-vault-store.js';
import { migrate, readMigrations } from './migrations.js';
import { PostgresVaultStore } from './postgres-vault-store.js';
import { MAX_EXPIRES_IN } from './upstream-provider.js';
import { nowSeconds, type GrantKey, type PendingConnect, type VaultStore } from './vault-store.js';

const describePostgres = await describeWithPostgres();
const ring = KeyRing.ephemeral();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
const newKey = (): GrantKey => ({
  connection: 'github',
  user: { iss: 'https://idp.example', sub: `user-${++counter}` },
});
const tokens = (key: GrantKey, accessToken: string) => ({
  kind: 'tokens' as const,
  sealed: sealJson(ring, { access_token: accessToken, token_type: 'Bearer' }, ['grant', key.user.sub]),
  scopes: ['repo'],
  expiresAt: nowSeconds() + 60,
});
const pending = (stateHash: string, expiresAt = nowSeconds() + 60): PendingConnect => ({
  stateHash,
  connection: 'github',
  user: { iss: 'https://idp.example', sub: 'alice' },
  clientId: 'app',
  redirectUri: 'https://app.example/cb',
  scopes: ['repo'],
  sealed: sealJson(ring, { state: 's', codeVerifier: 'v' }, ['connect', stateHash]),
  expiresAt,
});

/** What every store must do; run against memory, and against PostgreSQL with two stores (two instances). */
function contract(name: string, stores: () => [VaultStore, VaultStore]) {
  describe(name, () => {
    it('saves, reads, replaces and removes a grant', async () => {
      const [store] = stores();
      const key = newKey();
      expect(await store.read(key)).toBeUndefined();
      await store.save(key, tokens(key, 'a1'));
      const saved = await store.read(key);
      expect(saved).toMatchObject({ key, status: 'connected', scopes: ['repo'], expiresAt: expect.any(Number) });
      expect(saved!.sealed!.keyId).toBe(ring.activeKid);
      await store.save(key, { ...tokens(key, 'a2'), scopes: ['read:user'], expiresAt: null });
      expect(await store.read(key)).toMatchObject({ scopes: ['read:user'], expiresAt: null });
      expect((await store.remove(key))?.key).toEqual(key);
      expect(await store.read(key)).toBeUndefined();
      expect(await store.remove(key)).toBeUndefined();
    });

    it('runs one locked section per grant at a time, across stores, and writes its update before the next sees the grant', async () => {
      const [one, two] = stores();
      const key = newKey();
      await one.save(key, tokens(key, 'a0'));
      const events: string[] = [];
      const section = (store: VaultStore, id: number) =>
        store.withGrantLock(key, async (record) => {
          events.push(`enter ${id} saw ${record!.scopes.join(',')}`);
          await sleep(50);
          events.push(`leave ${id}`);
          return { update: { ...tokens(key, `a${id}`), scopes: [`s${id}`] }, value: id };
        });
      const results = await Promise.all([section(one, 1), section(two, 2), section(one, 3), section(two, 4)]);
      expect(results).toEqual([1, 2, 3, 4]);
      // Strictly alternating enter/leave: never two inside at once; each saw the previous one's write.
      for (let i = 0; i < events.length; i += 2) {
        expect(events[i]).toMatch(/^enter (\d)/);
        expect(events[i + 1]).toBe(`leave ${events[i]!.split(' ')[1]}`);
      }
      const seen = events.filter((e) => e.startsWith('enter')).map((e) => e.split(' saw ')[1]);
      expect(seen[0]).toBe('repo');
      expect(new Set(seen.slice(1)).size).toBe(3);
    });

    it('waits for a locked section under way before saving a new connection or removing the grant', async () => {
      const [one, two] = stores();
      // A refresh under way (the provider is slow) while the user connects again: the new connection
      // is written after the refresh, not overwritten by it.
      const key = newKey();
      await one.save(key, tokens(key, 'old'));
      let release!: () => void;
      const refreshing = one.withGrantLock(key, async () => {
        await new Promise<void>((r) => (release = r));
        return { update: { ...tokens(key, 'refreshed'), scopes: ['refreshed'] }, value: 0 };
      });
      await sleep(50);
      const reconnecting = two.save(key, { ...tokens(key, 'new'), scopes: ['new'] });
      await sleep(50);
      release();
      await Promise.all([refreshing, reconnecting]);
      expect((await one.read(key))!.scopes).toEqual(['new']);
      // A disconnection meanwhile gets the refreshed tokens (to revoke them upstream), not the spent ones.
      const removed = newKey();
      await one.save(removed, tokens(removed, 'old'));
      const refreshed = one.withGrantLock(removed, async () => {
        await new Promise<void>((r) => (release = r));
        return { update: { ...tokens(removed, 'refreshed'), scopes: ['refreshed'] }, value: 0 };
      });
      await sleep(50);
      const disconnecting = two.remove(removed);
      await sleep(50);
      release();
      await refreshed;
      expect((await disconnecting)!.scopes).toEqual(['refreshed']);
      expect(await one.read(removed)).toBeUndefined();
    });

    it('writes nothing when the locked section fails, and releases the lock', async () => {
      const [one, two] = stores();
      const key = newKey();
      await one.save(key, tokens(key, 'a0'));
      await expect(
        one.withGrantLock(key, async () => {
          throw new Error('upstream exploded');
        }),
      ).rejects.toThrow('upstream exploded');
      expect((await two.read(key))!.scopes).toEqual(['repo']);
      expect(await two.withGrantLock(key, async () => ({ value: 'free' }))).toBe('free');
    });

    it('marks a grant disconnected: status and reason kept, tokens dropped', async () => {
      const [one, two] = stores();
      const key = newKey();
      await one.save(key, tokens(key, 'a0'));
      await one.withGrantLock(key, async () => ({
        update: { kind: 'disconnected', reason: 'invalid_grant' },
        value: 0,
      }));
      expect(await two.read(key)).toMatchObject({
        status: 'disconnected',
        reason: 'invalid_grant',
        sealed: null,
        expiresAt: null,
      });
    });

    it('keeps the farthest expiry the vault believes (MAX_EXPIRES_IN from now), at connect and at refresh', async () => {
      const [one, two] = stores();
      const key = newKey();
      const farthest = nowSeconds() + MAX_EXPIRES_IN;
      await one.save(key, { ...tokens(key, 'a0'), expiresAt: farthest });
      expect((await two.read(key))!.expiresAt).toBe(farthest);
      await one.withGrantLock(key, async () => ({
        update: { ...tokens(key, 'a1'), expiresAt: farthest + 1 },
        value: 0,
      }));
      expect((await two.read(key))!.expiresAt).toBe(farthest + 1);
    });

    it('keeps a connect flow until its callback, then hands it out once by its connect code', async () => {
      const [one, two] = stores();
      await one.savePending(pending('state-1'));
      expect((await two.findPendingByState('state-1'))?.user.sub).toBe('alice');
      const sealed = sealJson(ring, { state: 's', codeVerifier: 'v', callbackQuery: 'code=c' }, ['x']);
      expect(await two.markReturned('state-1', 'code-1', sealed)).toBe(true);
      // Returned once: the state cannot be used again.
      expect(await one.findPendingByState('state-1')).toBeUndefined();
      expect(await one.markReturned('state-1', 'code-2', sealed)).toBe(false);
      const taken = await one.takePendingByCode('code-1');
      expect(taken).toMatchObject({ stateHash: 'state-1', connectCodeHash: 'code-1' });
      expect(taken!.sealed.ciphertext.equals(sealed.ciphertext)).toBe(true);
      expect(await two.takePendingByCode('code-1')).toBeUndefined();
    });

    it('forgets an expired connect flow', async () => {
      const [one] = stores();
      await one.savePending(pending('state-old', nowSeconds() - 1));
      expect(await one.findPendingByState('state-old')).toBeUndefined();
    });
  });
}

const memory = new MemoryVaultStore();
contract('MemoryVaultStore', () => [memory, memory]);

describePostgres('PostgreSQL', () => {
  let db: TestDatabase;
  let one: PostgresVaultStore;
  let two: PostgresVaultStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    one = new PostgresVaultStore(db.url, { lockTimeoutMs: 5000 });
    two = new PostgresVaultStore(db.url, { lockTimeoutMs: 5000 });
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db?.drop();
  });

  it('migrates once when several instances start at the same moment (advisory lock)', async () => {
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool)));
      const known = readMigrations().map((m) => m.version);
      expect(results.flatMap((r) => r.applied)).toEqual(known);
      for (const result of results) expect(result.version).toBe(Math.max(...known));
      const { rows } = await db.pool.query('SELECT version FROM vault_schema_migrations');
      expect(rows.map((r: { version: number }) => r.version)).toEqual(known);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  contract('PostgresVaultStore (two instances)', () => [one, two]);

  it('bounds a statement stuck behind a lock (57014), and frees its connection, though the grant lock waits its own lockTimeoutMs', async () => {
    const bounded = new PostgresVaultStore(db.url, { lockTimeoutMs: 1500, statementTimeoutMs: 300 });
    const key = newKey();
    await one.save(key, tokens(key, 'b0'));
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE vault_grants IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      await expect(bounded.read(key)).rejects.toMatchObject({
        code: '57014',
        message: 'canceling statement due to statement timeout',
      });
      expect(Date.now() - started).toBeLessThan(1500);
      // The grant lock's wait is lock_timeout's, not cut short by the statement bound.
      const waiting = Date.now();
      await expect(bounded.withGrantLock(key, async () => ({ value: 1 }))).rejects.toMatchObject({ code: '55P03' });
      expect(Date.now() - waiting).toBeGreaterThanOrEqual(1400);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    // The connections are usable again once the lock is gone.
    expect((await bounded.read(key))?.status).toBe('connected');
    await bounded.close();
  });

  it('gives up waiting for a grant lock after lockTimeoutMs (55P03)', async () => {
    const impatient = new PostgresVaultStore(db.url, { lockTimeoutMs: 200 });
    const key = newKey();
    await one.save(key, tokens(key, 'a0'));
    let release!: () => void;
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const held = one.withGrantLock(key, () => {
      locked(); // the row lock is held from here until release()
      return new Promise<{ value: number }>((r) => (release = () => r({ value: 1 })));
    });
    await holding;
    try {
      await expect(impatient.withGrantLock(key, async () => ({ value: 2 }))).rejects.toMatchObject({ code: '55P03' });
    } finally {
      release();
      await held;
      await impatient.close();
    }
  });
});
