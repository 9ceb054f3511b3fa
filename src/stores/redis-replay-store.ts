import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ReplayStore, ReplayStoreHealth } from './replay-store.js';

export interface RedisReplayStoreOptions {
  /** Bound on every command, milliseconds (REDIS_TIMEOUT_MS): an unreachable Redis never hangs a request. */
  readonly timeoutMs?: number;
}

/** Shared replay store: `SET key NX EXAT` makes first-use atomic across every instance. */
export class RedisReplayStore implements ReplayStore {
  private readonly redis: Redis;
  private readonly logger = new Logger('Stores');
  /** Whether the last thing heard from the connection was an error (logged once per outage). */
  private failing = false;

  constructor(
    url: string,
    private readonly prefix = 'actbridge:replay:',
    options: RedisReplayStoreOptions = {},
  ) {
    const timeoutMs = options.timeoutMs ?? 1000;
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      // Commands issued while (re)connecting wait in the queue, but never longer than commandTimeout:
      // a consume() either answers or rejects within timeoutMs, and the caller fails closed.
      enableOfflineQueue: true,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 2000),
      disconnectTimeout: timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Connection errors surface on the command that needs the connection; without a listener ioredis
    // would also print each one as an unhandled 'error' event. One log line per outage, not per retry.
    this.redis.on('error', (error: Error) => {
      if (this.failing) return;
      this.failing = true;
      this.logger.warn(
        `replay store: Redis unreachable (${error.message}); replay-sensitive requests fail with 503 until it is back`,
      );
    });
    this.redis.on('ready', () => {
      if (this.failing) this.logger.log('replay store: Redis reachable again');
      this.failing = false;
    });
  }

  async consume(key: string, expiresAt: number): Promise<boolean> {
    const at = Math.max(Math.ceil(expiresAt), Math.floor(Date.now() / 1000) + 1);
    const result = await this.redis.set(this.prefix + key, '1', 'EXAT', at, 'NX');
    return result === 'OK';
  }

  async health(): Promise<ReplayStoreHealth> {
    const connection = this.redis.status;
    if (connection !== 'ready') return { store: 'redis', status: 'down', connection };
    try {
      await this.redis.ping();
      return { store: 'redis', status: 'up', connection };
    } catch {
      return { store: 'redis', status: 'down', connection: this.redis.status };
    }
  }

  async close(): Promise<void> {
    // QUIT needs a connection; without one, stop reconnecting at once rather than wait for a timeout.
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
