import { Global, Inject, Logger, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { REPLAY_STORE, type ReplayStore } from './replay-store.js';
import { RevocationList } from '../subject-tokens/revocation-check.js';
import { storeWindows } from './single-use-window.js';
import { REVOCATION_STORE, type RevocationStore } from './revocation-store.js';

/** The instance's one Redis connection when REDIS_URL is set (null otherwise): both stores share it. */
const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CONNECTION,
      inject: [STS_CONFIG],
      useFactory: (config: StsConfig): RedisConnection | null =>
        config.server.redisUrl
          ? new RedisConnection(config.server.redisUrl, {
              timeoutMs: config.server.redisTimeoutMs,
              windows: storeWindows(config),
            })
          : null,
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
    RevocationList,
  ],
  exports: [REPLAY_STORE, REVOCATION_STORE, RevocationList],
})
export class StoresModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}
