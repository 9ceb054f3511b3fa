import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { describeWithRedisServer, startOwnRedis, type OwnRedis } from '../../test/support/redis-server.js';
import { RedisConnection } from './redis-connection.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import type { StoreWindows } from './single-use-window.js';
import { confirmStoreReset, EPOCH_KEY, parseMarker, StoreEpoch, StoreMemoryLostError } from './store-epoch.js';

const describeServer = describeWithRedisServer();

const WINDOWS: StoreWindows = {
  replay: { seconds: 600, basis: 'test replay window' },
  revocation: { seconds: 3600, basis: 'test revocation window' },
};

describeServer('StoreEpoch on a redis-server of its own', () => {
  let redis: OwnRedis;
  let admin: Redis;
  let t: number;
  const clock = () => t;

  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    t = Date.now() / 1000;
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    await admin.flushall();
  });
  afterEach(() => {
    admin.disconnect();
  });

  const marker = async () => parseMarker((await admin.get(EPOCH_KEY)) ?? '');

  it('at first start on a store without marker, dates the possible loss at Redis start and refuses until the window has passed', async () => {
    const epoch = new StoreEpoch(admin, WINDOWS, EPOCH_KEY, clock);
    const uptime = Number(/uptime_in_seconds:(\d+)/.exec(await admin.info('server'))![1]);
    await expect(epoch.expect('replay')).rejects.toBeInstanceOf(StoreMemoryLostError);
    const written = await marker();
    expect(written).toEqual({
      epoch: expect.any(String),
      lost_at: expect.any(Number),
      reason: 'no epoch marker at first start: a new or emptied store, dated at its start',
    });
    expect(Math.abs(written!.lost_at! - (t - uptime))).toBeLessThanOrEqual(2);
    const refusal = await epoch.expect('replay').catch((error: unknown) => error as StoreMemoryLostError);
    expect(refusal).toMatchObject({ memory: 'replay', until: written!.lost_at! + 600 });
    expect(epoch.health()).toMatchObject({ memory: 'lost', lost_at: new Date(written!.lost_at! * 1000).toISOString() });

    // Past the replay window the single-use checks are trusted again; revocations need longer.
    t = written!.lost_at! + 600;
    await expect(epoch.expect('replay')).resolves.toBe(await admin.get(EPOCH_KEY));
    await expect(epoch.expect('revocation')).rejects.toMatchObject({ memory: 'revocation' });
    t = written!.lost_at! + 3600;
    await expect(epoch.expect('revocation')).resolves.toBe(await admin.get(EPOCH_KEY));
    expect(epoch.health()).toEqual({ memory: 'intact' });
  });

  it('at first start on a Redis up longer than the windows, trusts the store at once', async () => {
    // Every entry a store up for longer than the windows could have lost at its start has expired.
    const uptime = async () => Number(/uptime_in_seconds:(\d+)/.exec(await admin.info('server'))![1]);
    while ((await uptime()) < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    const short: StoreWindows = { replay: { seconds: 1, basis: 'short' }, revocation: { seconds: 1, basis: 'short' } };
    const epoch = new StoreEpoch(admin, short);
    const expected = await epoch.expect('revocation');
    expect(expected).toBe(await admin.get(EPOCH_KEY));
    await expect(epoch.expect('replay')).resolves.toEqual(expect.any(String));
    expect(epoch.health()).toEqual({ memory: 'intact' });
  });

  it('when the marker it knew is gone, records the loss for every instance, including ones started later', async () => {
    await confirmStoreReset(admin, 'installed');
    const a = new StoreEpoch(admin, WINDOWS, EPOCH_KEY, clock);
    const known = await a.expect('replay');
    expect(parseMarker(known)).toMatchObject({ lost_at: null, note: 'installed' });

    await admin.flushall();
    t += 5;
    await a.read();
    await expect(a.expect('replay')).rejects.toMatchObject({ memory: 'replay', until: Math.floor(t) + 600 });
    expect(await marker()).toMatchObject({
      lost_at: Math.floor(t),
      reason: 'the store lost its data (epoch marker gone: restarted without persistence, or flushed)',
    });

    // An instance started afterwards sees the recorded loss, not a fresh store.
    const b = new StoreEpoch(admin, WINDOWS, EPOCH_KEY, clock);
    await expect(b.expect('replay')).rejects.toMatchObject({ until: Math.floor(t) + 600 });
  });

  it('a marker of another epoch that records no loss counts as a loss', async () => {
    await confirmStoreReset(admin, 'installed');
    const a = new StoreEpoch(admin, WINDOWS, EPOCH_KEY, clock);
    await a.expect('replay');
    await admin.set(EPOCH_KEY, JSON.stringify({ epoch: 'someone-else', lost_at: null }));
    await a.read();
    await expect(a.expect('replay')).rejects.toMatchObject({ memory: 'replay' });
    expect(await marker()).toMatchObject({ reason: 'the store was replaced (another epoch marker)' });
  });

  it("an operator's confirm-reset ends the refusal at the next look at the marker", async () => {
    const epoch = new StoreEpoch(admin, WINDOWS, EPOCH_KEY, clock);
    await expect(epoch.expect('replay')).rejects.toBeInstanceOf(StoreMemoryLostError);
    const lostEpoch = (await marker())!.epoch;
    await confirmStoreReset(admin, 'store was empty anyway');
    expect(await marker()).toMatchObject({ epoch: lostEpoch, lost_at: null, note: 'store was empty anyway' });
    t += 1; // re-read at most once a second while refusing
    await expect(epoch.expect('replay')).resolves.toBe(await admin.get(EPOCH_KEY));
    await expect(epoch.expect('revocation')).resolves.toEqual(expect.any(String));
  });
});

describeServer('Redis stores across a restart of their redis-server', () => {
  let redis: OwnRedis;
  let connection: RedisConnection;
  let replay: RedisReplayStore;
  let revocations: RedisRevocationStore;
  const exp = () => Math.floor(Date.now() / 1000) + 300;

  beforeAll(async () => {
    redis = await startOwnRedis();
    const admin = new Redis(redis.url);
    await confirmStoreReset(admin, 'test store');
    admin.disconnect();
    connection = new RedisConnection(redis.url, { timeoutMs: 5000, windows: WINDOWS });
    replay = new RedisReplayStore(connection);
    revocations = new RedisRevocationStore(connection);
  });
  afterAll(async () => {
    await connection.close();
    await redis.stop();
  });

  it('refuses to answer single-use and revocation checks once the store restarted empty', async () => {
    await expect(replay.consume('assertion-1', exp())).resolves.toBe(true);
    await expect(replay.consume('assertion-1', exp())).resolves.toBe(false);
    await revocations.revoke('jti-1', exp());
    await expect(revocations.isRevoked('jti-1')).resolves.toBe(true);
    expect(await connection.health()).toEqual({ store: 'redis', status: 'up', connection: 'ready' });

    await redis.restartEmpty();

    // Without the marker check the restarted store would answer "never used" and "not revoked".
    await expect(replay.consume('assertion-1', exp())).rejects.toBeInstanceOf(StoreMemoryLostError);
    await expect(replay.consume('assertion-2', exp())).rejects.toMatchObject({ memory: 'replay' });
    await expect(revocations.isRevoked('jti-1')).rejects.toMatchObject({ memory: 'revocation' });
    expect(await connection.health()).toMatchObject({
      store: 'redis',
      status: 'lost',
      connection: 'ready',
      memory: 'lost',
      reason: 'the store lost its data (epoch marker gone: restarted without persistence, or flushed)',
    });
  });

  it('checks the marker in the same step as the write: a loss between two reads is never trusted', async () => {
    const admin = new Redis(redis.url);
    await confirmStoreReset(admin, 'resume');
    await connection.epoch.read();
    await expect(replay.consume('assertion-3', exp())).resolves.toBe(true);
    // The data goes, the connection stays: no reconnect tells the instance.
    await admin.flushall();
    await expect(replay.consume('assertion-3', exp())).rejects.toBeInstanceOf(StoreMemoryLostError);
    expect(await admin.exists('actbridge:replay:assertion-3')).toBe(0);
    admin.disconnect();
  });

  it('counts evicted keys as a loss within a second: an evicted jti is never taken for an unused one', async () => {
    const admin = new Redis(redis.url);
    await confirmStoreReset(admin, 'resume');
    await connection.epoch.read();
    await expect(replay.consume('assertion-5', exp())).resolves.toBe(true);
    // The marker has no expiry, so volatile-lru evicts every replay key before it.
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await admin.config('SET', 'maxmemory', '1');
    try {
      await admin.set('filler', 'x').catch(() => undefined); // OOM, after evicting every key with a TTL
      expect(await admin.exists('actbridge:replay:assertion-5')).toBe(0);
      expect(await admin.exists(EPOCH_KEY)).toBe(1);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const refusal = await replay.consume('assertion-5', exp()).catch((error: unknown) => error as StoreMemoryLostError);
    expect(refusal).toBeInstanceOf(StoreMemoryLostError);
    expect((refusal as StoreMemoryLostError).message).toMatch(
      /^single-use memory lost \(the store evicted 1 key\(s\): set maxmemory-policy noeviction\); refusing until /,
    );
    expect(parseMarker((await admin.get(EPOCH_KEY))!)).toMatchObject({
      lost_at: expect.any(Number),
      reason: 'the store evicted 1 key(s): set maxmemory-policy noeviction',
    });
    admin.disconnect();
  });
});
