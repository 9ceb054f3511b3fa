import type { RevocationStore } from './revocation-store.js';
import { clock } from '../common/clock.js';

/** In-process revocation list: correct for one instance only. Several instances need REDIS_URL. */
export class MemoryRevocationStore implements RevocationStore {
  private readonly revoked = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = () => clock.ms() / 1000) {}

  async revoke(jti: string, expiresAt: number): Promise<void> {
    this.sweep();
    this.revoked.set(jti, Math.max(expiresAt, this.revoked.get(jti) ?? 0));
  }

  async isRevoked(jti: string): Promise<boolean> {
    const until = this.revoked.get(jti);
    return until !== undefined && until > this.now();
  }

  /** Drops entries whose token has expired, at most once a second. */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1;
    for (const [jti, until] of this.revoked) if (until <= now) this.revoked.delete(jti);
  }

  get size(): number {
    return this.revoked.size;
  }
}
