import { Global, Inject, Logger, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { MemoryReplayStore } from './memory-replay-store.js';
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
      inject: [REDIS_CONNECTION],
      useFactory: (redis: RedisConnection | null): ReplayStore => {
        if (redis) return new RedisReplayStore(redis);
        new Logger('Stores').log(
          'replay store: in-process memory, forgotten on restart (set REDIS_URL when running several instances)',
        );
        return new MemoryReplayStore();
      },
    },
    {
      provide: REVOCATION_STORE,
      inject: [REDIS_CONNECTION],
      useFactory: (redis: RedisConnection | null): RevocationStore =>
        redis ? new RedisRevocationStore(redis) : new MemoryRevocationStore(),
    },
    {
      // Beside the revocation flags it is read with: Redis for both, or process memory for both.
      provide: LINEAGE_STORE,
      inject: [REDIS_CONNECTION, REVOCATION_STORE],
      useFactory: (redis: RedisConnection | null, revocations: RevocationStore): LineageStore =>
        redis
          ? new RedisLineageStore(redis, (revocations as RedisRevocationStore).prefix)
          : new MemoryLineageStore(revocations as MemoryRevocationStore),
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
