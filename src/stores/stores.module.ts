import { Global, Inject, Logger, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { METRICS, type Metrics } from '../observability/metrics.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { observedLineageStore, observedReplayStore, observedRevocationStore } from './observed-stores.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { REPLAY_STORE, type ReplayStore } from './replay-store.js';
import { STORE_WINDOWS, type StoreWindows } from './single-use-window.js';
import { REVOCATION_STORE, type RevocationStore } from './revocation-store.js';
import { LINEAGE_STORE, type LineageStore } from './lineage-store.js';
import { MemoryLineageStore } from './memory-lineage-store.js';
import { RedisLineageStore } from './redis-lineage-store.js';

/** The instance's one Redis connection when REDIS_URL is set (null otherwise): every store shares it. */
const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

/** The revocation store as built, for the lineage store that shares its data (REVOCATION_STORE is its timed view). */
const UNOBSERVED_REVOCATION_STORE = Symbol('UNOBSERVED_REVOCATION_STORE');

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
      provide: UNOBSERVED_REVOCATION_STORE,
      inject: [REDIS_CONNECTION],
      useFactory: (redis: RedisConnection | null): RedisRevocationStore | MemoryRevocationStore =>
        redis ? new RedisRevocationStore(redis) : new MemoryRevocationStore(),
    },
    {
      provide: REVOCATION_STORE,
      inject: [UNOBSERVED_REVOCATION_STORE, { token: METRICS, optional: true }],
      useFactory: (store: RevocationStore, metrics?: Metrics): RevocationStore =>
        metrics ? observedRevocationStore(store, metrics) : store,
    },
    {
      // Beside the revocation flags it is read with (the store itself, not its timed view): Redis for
      // both, or process memory for both.
      provide: LINEAGE_STORE,
      inject: [REDIS_CONNECTION, UNOBSERVED_REVOCATION_STORE, { token: METRICS, optional: true }],
      useFactory: (
        redis: RedisConnection | null,
        revocations: RedisRevocationStore | MemoryRevocationStore,
        metrics?: Metrics,
      ): LineageStore => {
        const store = redis
          ? new RedisLineageStore(redis, (revocations as RedisRevocationStore).prefix)
          : new MemoryLineageStore(revocations as MemoryRevocationStore);
        return metrics ? observedLineageStore(store, metrics) : store;
      },
    },
  ],
  exports: [REPLAY_STORE, REVOCATION_STORE, LINEAGE_STORE],
})
export class StoresModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}
