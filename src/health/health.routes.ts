import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Drain } from '../http/drain.js';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { LIVENESS_PATH, READINESS_PATH } from '../oauth/endpoint-paths.js';
import { AUDIT_SINK, type AuditSink } from '../audit/audit-sink.js';
import { REPLAY_STORE, type ReplayStore, type ReplayStoreHealth } from '../stores/replay-store.js';
import { AnchorHealth } from './anchor-health.js';

/**
 * Probes for orchestrators. Liveness: the process answers HTTP. Readiness: it can also serve every
 * grant: the replay store is reachable and trusted (single-use checks fail closed without it), at
 * least one trust anchor has usable keys (without one, every exchange would be refused), audit lines
 * can be written (every audited request fails closed without), and it is not shutting down.
 */
@Injectable()
export class HealthRoutes implements RouteProvider {
  constructor(
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    private readonly anchors: AnchorHealth,
    private readonly drain: Drain,
    @Inject(AUDIT_SINK) private readonly audit: AuditSink,
  ) {}

  routes(): HttpRoute[] {
    const headers = { 'cache-control': 'no-store' };
    return [
      { name: 'liveness', method: 'GET', path: LIVENESS_PATH, headers, handle: () => ({ status: 'live' }) },
      { name: 'readiness', method: 'GET', path: READINESS_PATH, headers, handle: (_, reply) => this.ready(reply) },
    ];
  }

  private async ready(reply: FastifyReply): Promise<Readiness> {
    const readiness = await this.readiness();
    void reply.code(readiness.status === 'ready' ? 200 : 503);
    return readiness;
  }

  /** The readiness report (200 when `ready`, else 503); also served on the management listener. */
  async readiness(): Promise<Readiness> {
    const store = (await this.replay.health?.()) ?? { store: 'memory', status: 'up' };
    const anchors = this.anchors.all();
    const usable = anchors.filter((a) => a.usable).length;
    const draining = this.drain.draining;
    // Every audited request fails closed (503) while no audit line can be written: routed elsewhere.
    const audit = this.audit.health?.() ?? { status: 'up' };
    const ready = store.status === 'up' && usable > 0 && !draining && audit.status === 'up';
    return {
      status: ready ? 'ready' : 'not_ready',
      replay_store: store,
      trust_anchors: { usable, configured: anchors.length },
      ...(audit.status === 'up' ? {} : { audit_log: { status: 'down' } }),
      ...(draining ? { draining } : {}),
    };
  }
}

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  readonly replay_store: ReplayStoreHealth;
  readonly trust_anchors: { usable: number; configured: number };
  /** Present when no audit line can be written (its cause is not said: it names a path). */
  readonly audit_log?: { readonly status: 'down' };
  readonly draining?: true;
}
