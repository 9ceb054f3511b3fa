import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LIVENESS_PATH, READINESS_PATH } from '../oauth/endpoint-paths.js';
import { AnchorHealth } from './anchor-health.js';
import { Drain } from '../http/drain.js';
import { REPLAY_STORE, type ReplayStore, type ReplayStoreHealth } from '../stores/replay-store.js';

/**
 * Probes for orchestrators. Liveness: the process answers HTTP. Readiness: it can also serve every
 * grant: the replay store is reachable and trusted (single-use checks fail closed without it), at
 * least one trust anchor has usable keys (without one, every exchange would be refused), and it is
 * not shutting down.
 */
@Controller()
export class HealthController {
  constructor(
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    private readonly anchors: AnchorHealth,
    private readonly drain: Drain,
  ) {}

  @Get(LIVENESS_PATH)
  @Header('cache-control', 'no-store')
  live(): { status: 'live' } {
    return { status: 'live' };
  }

  @Get(READINESS_PATH)
  @Header('cache-control', 'no-store')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{
    status: 'ready' | 'not_ready';
    replay_store: ReplayStoreHealth;
    trust_anchors: { usable: number; configured: number };
    draining?: true;
  }> {
    const store = (await this.replay.health?.()) ?? { store: 'memory', status: 'up' };
    const anchors = this.anchors.all();
    const usable = anchors.filter((a) => a.usable).length;
    const draining = this.drain.draining;
    const ready = store.status === 'up' && usable > 0 && !draining;
    void reply.code(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'not_ready',
      replay_store: store,
      trust_anchors: { usable, configured: anchors.length },
      ...(draining ? { draining } : {}),
    };
  }
}
