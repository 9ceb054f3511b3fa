import { describe, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { confirmStoreReset, EPOCH_KEY, parseMarker } from '../../src/stores/store-epoch.js';

/** The Redis the tests use (README "Development"). */
export const REDIS_TEST_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at `url` within `timeoutMs`. */
export async function redisReachable(url = REDIS_TEST_URL, timeoutMs = 2000): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * `describe` for suites that need a real Redis: where none is reachable they are skipped with a loud
 * message, except under CI=true, where they run (and fail) so that a missing Redis cannot go unnoticed.
 */
export async function describeWithRedis(): Promise<typeof describe> {
  if (await redisReachable()) {
    await trustTestStore();
    return describe;
  }
  if (process.env.CI === 'true') {
    describe('Redis', () => {
      it(`is reachable at ${REDIS_TEST_URL} (required under CI=true)`, () => {
        throw new Error(`no Redis reachable at ${REDIS_TEST_URL}; the shared-replay-store tests cannot run`);
      });
    });
    return describe;
  }
  process.stderr.write(
    `\n!!!!!!!!!!\n!!! SKIPPING Redis tests: no Redis reachable at ${REDIS_TEST_URL} (set REDIS_TEST_URL, or run under CI=true to fail instead)\n!!!!!!!!!!\n\n`,
  );
  return describe.skip as typeof describe;
}

/**
 * The test Redis holds nothing worth protecting: where its epoch marker is missing or records a loss
 * (a fresh CI service, a restarted one), confirm it as an operator would, so that instances started by
 * the tests trust it instead of refusing single-use checks for an hour.
 */
async function trustTestStore(url = REDIS_TEST_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const marker = parseMarker((await redis.get(EPOCH_KEY)) ?? '');
    if (!marker || marker.lost_at !== null) await confirmStoreReset(redis, 'test setup');
  } finally {
    redis.disconnect();
  }
}
