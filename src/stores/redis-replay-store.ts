import { Redis } from 'ioredis';
import type { ReplayStore } from './replay-store.js';

/** Shared replay store: `SET key NX EXAT` makes first-use atomic across every instance. */
export class RedisReplayStore implements ReplayStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'actbridge:replay:',
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
    });
    // Connection errors surface on the command that needs the connection; without a listener ioredis
    // would also print each one as an unhandled 'error' event.
    this.redis.on('error', () => undefined);
  }

  async consume(key: string, expiresAt: number): Promise<boolean> {
    const at = Math.max(Math.ceil(expiresAt), Math.floor(Date.now() / 1000) + 1);
    const result = await this.redis.set(this.prefix + key, '1', 'EXAT', at, 'NX');
    return result === 'OK';
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
