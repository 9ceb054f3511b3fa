import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import type { ReplayStore, ReplayStoreHealth } from './replay-store.js';
import { clock } from '../common/clock.js';

/**
 * Shared replay store: `SET key NX EXAT` makes first-use atomic across every instance, in the same
 * atomic step as the check that the store still remembers (its epoch marker, StoreEpoch).
 */
export class RedisReplayStore implements ReplayStore {
  private readonly connection: RedisConnection;
  /** True when this store opened the connection itself (and so closes it). */
  private readonly owned: boolean;

  /** @param connection a shared connection, or a Redis URL to open one of its own. */
  constructor(
    connection: RedisConnection | string,
    private readonly prefix = 'actbridge:replay:',
    options: RedisConnectionOptions = {},
  ) {
    this.owned = typeof connection === 'string';
    this.connection = typeof connection === 'string' ? new RedisConnection(connection, options) : connection;
  }

  async consume(key: string, expiresAt: number): Promise<boolean> {
    const at = Math.max(Math.ceil(expiresAt), clock.seconds() + 1);
    return this.connection.consumeOnce(this.prefix + key, at);
  }

  health(): Promise<ReplayStoreHealth> {
    return this.connection.health();
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }
}
