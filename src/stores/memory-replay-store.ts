import type { ReplayStore, ReplayStoreHealth } from './replay-store.js';
import { clock } from '../common/clock.js';

/** In-process replay store: correct for one instance only. Several instances need REDIS_URL. */
export class MemoryReplayStore implements ReplayStore {
  private readonly used = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = () => clock.ms() / 1000) {}

  async consume(key: string, expiresAt: number): Promise<boolean> {
    const now = this.now();
    this.sweep(now);
    const until = this.used.get(key);
    if (until !== undefined && until > now) return false;
    this.used.set(key, expiresAt);
    return true;
  }

  /** Drops expired entries at most once a second, so memory stays bounded by the live set. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1;
    for (const [key, until] of this.used) if (until <= now) this.used.delete(key);
  }

  async health(): Promise<ReplayStoreHealth> {
    return { store: 'memory', status: 'up' };
  }

  get size(): number {
    return this.used.size;
  }
}
