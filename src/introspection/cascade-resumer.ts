import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { revokeWithDescendants } from '../stores/cascade.js';
import { LINEAGE_STORE, type LineageStore } from '../stores/lineage-store.js';
import { REVOCATION_STORE, type RevocationStore } from '../stores/revocation-store.js';

/** Most pending walks completed per run. */
const WALKS_PER_RUN = 100;

/**
 * Completes cascade revocations the store cut short (the client got 503 with the start already
 * revoked): every CASCADE_RESUME_INTERVAL, on every instance, the walks still marked pending after an
 * interval are walked again (stores/cascade.ts, idempotent), without waiting for anyone to retry, so
 * that the revocation list names every descendant. Each descendant this revokes writes its own
 * `token.revoked` line (`revoked_by: cascade`).
 */
@Injectable()
export class CascadeResumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CascadeResumer');
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(REVOCATION_STORE) private readonly revocations: RevocationStore,
    @Inject(LINEAGE_STORE) private readonly lineage: LineageStore,
    private readonly audit: AuditTrail,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    this.intervalMs = server.cascadeResumeInterval * 1000;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.resume(), this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Completes the pending walks (one run at a time); resolves to the descendants it revoked. */
  resume(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    let revoked = 0;
    try {
      // A walk marked less than an interval ago may still be under way at its instance.
      for (const walk of await this.revocations.pendingWalks(this.intervalMs, WALKS_PER_RUN)) {
        const result = await revokeWithDescendants(this.revocations, this.lineage, walk, {
          reached: (descendant) =>
            this.audit.revoked(
              { client_authenticated: false },
              {
                revoked_by: 'cascade',
                jti: descendant.key,
                through: walk.key,
                exp: descendant.exp,
                descendants_revoked: 0,
              },
            ),
        });
        revoked += result.newlyRevoked;
        this.logger.log(
          `completed the cascade of ${walk.key} cut short by the store: ${result.newlyRevoked} more descendant(s) revoked`,
        );
      }
    } catch (error) {
      this.logger.warn(
        `cannot complete cut-short cascades now (${(error as Error).message}); retried in ${this.intervalMs / 1000} s`,
      );
    }
    return revoked;
  }
}
