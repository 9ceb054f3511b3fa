import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { MemoryReplayStore } from './memory-replay-store.js';
import { RedisReplayStore } from './redis-replay-store.js';
import { REPLAY_STORE, type ReplayStore } from './replay-store.js';

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
  ],
  exports: [REPLAY_STORE],
})
export class StoresModule implements OnApplicationShutdown {
  constructor(@Inject(REPLAY_STORE) private readonly replay: ReplayStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.replay.close?.();
  }
}
