import { Redis } from 'ioredis';
import type { RevocationStore } from './revocation-store.js';

/** Shared revocation list: one key per revoked `jti`, expiring with the token (`SET ... EXAT`). */
export class RedisRevocationStore implements RevocationStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'actbridge:revoked:',
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
    });
    // Errors surface on the command that needs the connection (callers fail closed).
    this.redis.on('error', () => undefined);
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    const at = Math.max(Math.ceil(expiresAt), Math.floor(Date.now() / 1000) + 1);
    await this.redis.set(this.prefix + jti, '1', 'EXAT', at);
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + jti)) === 1;
  }

  async close(): Promise<void> {
    // QUIT needs a live connection; on a dead one it would wait on reconnect attempts.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
