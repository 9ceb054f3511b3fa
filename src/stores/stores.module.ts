import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { MemoryRevocationStore } from './memory-revocation-store.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { RedisRevocationStore } from './redis-revocation-store.js';
import { REPLAY_STORE, type ReplayStore } from './replay-store.js';
import { RevocationList } from './revocation-list.js';
import { REVOCATION_STORE, type RevocationStore } from './revocation-store.js';

@Global()
@Module({
  providers: [
    {
      provide: REPLAY_STORE,
      inject: [STS_CONFIG],
      useFactory: ({ server }: StsConfig): ReplayStore => {
        if (server.redisUrl)
          return new RedisReplayStore(server.redisUrl, undefined, { timeoutMs: server.redisTimeoutMs });
        new Logger('Stores').log('replay store: in-process memory (set REDIS_URL when running several instances)');
        return new MemoryReplayStore();
      },
    },
    {
      provide: REVOCATION_STORE,
      inject: [STS_CONFIG],
      useFactory: ({ server }: StsConfig): RevocationStore =>
        server.redisUrl ? new RedisRevocationStore(server.redisUrl) : new MemoryRevocationStore(),
    },
    RevocationList,
  ],
  exports: [REPLAY_STORE, REVOCATION_STORE, RevocationList],
})
export class StoresModule implements OnApplicationShutdown {
  constructor(
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    @Inject(REVOCATION_STORE) private readonly revocations: RevocationStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.replay.close?.(), this.revocations.close?.()]);
  }
}
