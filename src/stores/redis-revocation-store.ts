import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import type { RevocationStore } from './revocation-store.js';
import { clock } from '../common/clock.js';

/** Shared revocation list: one key per revoked `jti`, expiring with the token (`SET ... EXAT`). */
export class RedisRevocationStore implements RevocationStore {
  private readonly connection: RedisConnection;
  /** True when this store opened the connection itself (and so closes it). */
  private readonly owned: boolean;

  /** @param connection a shared connection, or a Redis URL to open one of its own. */
  constructor(
    connection: RedisConnection | string,
    private readonly prefix = 'actbridge:revoked:',
    options: RedisConnectionOptions = {},
  ) {
    this.owned = typeof connection === 'string';
    this.connection = typeof connection === 'string' ? new RedisConnection(connection, options) : connection;
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    const at = Math.max(Math.ceil(expiresAt), clock.seconds() + 1);
    await this.connection.client.set(this.prefix + jti, '1', 'EXAT', at);
  }

  /** Only answers while the store remembers every revocation it was told (StoreEpoch). */
  isRevoked(jti: string): Promise<boolean> {
    return this.connection.existsInEpoch(this.prefix + jti, 'revocation');
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }
}
