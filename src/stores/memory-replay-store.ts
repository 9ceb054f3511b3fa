import type { ReplayStore, ReplayStoreHealth } from './replay-store.js';
import { ExpiryIndex } from './expiry-index.js';
import { clock } from '../common/clock.js';

/** In-process replay store: correct for one instance only. Several instances need REDIS_URL. */
export class MemoryReplayStore implements ReplayStore {
  private readonly used = new Map<string, number>();
  private readonly expiring: ExpiryIndex;

  constructor(private readonly now: () => number = () => clock.ms() / 1000) {
    this.expiring = new ExpiryIndex(now());
  }

  async consume(key: string, expiresAt: number): Promise<boolean> {
    const now = this.now();
    this.expiring.sweep(now, (due) => {
      const until = this.used.get(due);
      if (until !== undefined && until <= now) this.used.delete(due);
    });
    const until = this.used.get(key);
    if (until !== undefined && until > now) return false;
    this.used.set(key, expiresAt);
    this.expiring.add(key, expiresAt);
    return true;
  }

  async health(): Promise<ReplayStoreHealth> {
    return { store: 'memory', status: 'up' };
  }

  get size(): number {
    return this.used.size;
  }
}
