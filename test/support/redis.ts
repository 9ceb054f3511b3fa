import { describe, it } from '@jest/globals';
import { Redis } from 'ioredis';

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
  if (await redisReachable()) return describe;
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
