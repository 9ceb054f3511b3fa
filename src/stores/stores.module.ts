import { Global, Inject, Logger, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { METRICS, type Metrics } from '../observability/metrics.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { observedReplayStore, observedRevocationStore } from './observed-stores.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { REPLAY_STORE, type ReplayStore } from './replay-store.js';
import { STORE_WINDOWS, type StoreWindows } from './single-use-window.js';
import { REVOCATION_STORE, type RevocationStore } from './revocation-store.js';

/** The instance's one Redis connection when REDIS_URL is set (null otherwise): both stores share it. */
const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CONNECTION,
      inject: [SERVER_CONFIG, STORE_WINDOWS],
      useFactory: (server: ServerConfig, windows: StoreWindows): RedisConnection | null =>
        server.redisUrl ? new RedisConnection(server.redisUrl, { timeoutMs: server.redisTimeoutMs, windows }) : null,
    },
    {
      provide: REPLAY_STORE,
      inject: [REDIS_CONNECTION, { token: METRICS, optional: true }],
      useFactory: (redis: RedisConnection | null, metrics?: Metrics): ReplayStore => {
        if (!redis) {
          new Logger('Stores').log(
            'replay store: in-process memory, forgotten on restart (set REDIS_URL when running several instances)',
          );
        }
        const store = redis ? new RedisReplayStore(redis) : new MemoryReplayStore();
        return metrics ? observedReplayStore(store, metrics) : store;
      },
    },
    {
      provide: REVOCATION_STORE,
      inject: [REDIS_CONNECTION, { token: METRICS, optional: true }],
      useFactory: (redis: RedisConnection | null, metrics?: Metrics): RevocationStore => {
        const store = redis ? new RedisRevocationStore(redis) : new MemoryRevocationStore();
        return metrics ? observedRevocationStore(store, metrics) : store;
      },
    },
  ],
  exports: [REPLAY_STORE, REVOCATION_STORE],
})
export class StoresModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}
