import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ReplayStoreHealth } from './replay-store.js';

export interface RedisConnectionOptions {
  /** Bound on every command, milliseconds (REDIS_TIMEOUT_MS): an unreachable Redis never hangs a request. */
  readonly timeoutMs?: number;
}

/**
 * The one Redis connection an instance keeps for its shared state (replay sets, revocations). Every
 * command either answers or rejects within `timeoutMs`, so callers fail closed quickly; an outage and
 * the recovery are logged once each, never per retry.
 */
export class RedisConnection {
  readonly client: Redis;
  private readonly logger = new Logger('Stores');
  /** Whether the last thing heard from the connection was an error. */
  private failing = false;

  constructor(url: string, options: RedisConnectionOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 1000;
    this.client = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      // Commands issued while (re)connecting wait in the queue, but never longer than commandTimeout.
      enableOfflineQueue: true,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 2000),
      disconnectTimeout: timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Without a listener ioredis would print each connection error as an unhandled 'error' event.
    this.client.on('error', (error: Error) => {
      if (this.failing) return;
      this.failing = true;
      this.logger.warn(
        `Redis unreachable (${error.message}); replay- and revocation-sensitive requests fail with 503 until it is back`,
      );
    });
    this.client.on('ready', () => {
      if (this.failing) this.logger.log('Redis reachable again');
      this.failing = false;
    });
  }

  async health(): Promise<ReplayStoreHealth> {
    const connection = this.client.status;
    if (connection !== 'ready') return { store: 'redis', status: 'down', connection };
    try {
      await this.client.ping();
      return { store: 'redis', status: 'up', connection };
    } catch {
      return { store: 'redis', status: 'down', connection: this.client.status };
    }
  }

  async close(): Promise<void> {
    // QUIT needs a connection; without one, stop reconnecting at once rather than wait for a timeout.
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
