import { randomUUID } from 'node:crypto';
import { ExpiryIndex } from './expiry-index.js';
import { isIssuedJti } from './lineage-keys.js';
import type { PendingWalk, Revocation, RevocationStore, RevokedList } from './revocation-store.js';
import { clock } from '../common/clock.js';

/** In-process revocation list: correct for one instance only. Several instances need REDIS_URL. */
export class MemoryRevocationStore implements RevocationStore {
  private readonly revoked = new Map<string, { until: number; origin: string }>();
  /** A cascade revokes a whole tree at once; its entries are forgotten a few at a time, as they expire. */
  private readonly expiring: ExpiryIndex;
  /** Random per process, so a version is never reused by a restarted instance. */
  private readonly epoch = randomUUID();
  private changes = 0;
  /** Walks begun and not ended, by `exp key`, with when they began (ms). */
  private readonly walks = new Map<string, { walk: PendingWalk; since: number }>();

  constructor(private readonly now: () => number = () => clock.ms() / 1000) {
    this.expiring = new ExpiryIndex(now());
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    await this.revokeMany([{ key: jti, exp: expiresAt, origin: jti }]);
  }

  async revokeMany(revocations: readonly Revocation[]): Promise<readonly string[]> {
    this.sweep();
    const fresh: string[] = [];
    for (const { key, exp, origin } of revocations) {
      const live = this.originOf(key) === undefined ? undefined : this.revoked.get(key);
      if (live === undefined) fresh.push(key);
      // Never shortened; a direct revocation is not renamed to a later cascade that reaches it.
      const until = Math.max(exp, live?.until ?? 0);
      this.revoked.set(key, { until, origin: live?.origin ?? origin });
      if (until !== live?.until) this.expiring.add(key, until);
    }
    if (revocations.some((r) => isIssuedJti(r.key))) this.changes++;
    return fresh;
  }

  async beginWalk(start: Revocation): Promise<readonly string[]> {
    this.walks.set(`${start.exp} ${start.key}`, { walk: { key: start.key, exp: start.exp }, since: this.now() * 1000 });
    return this.revokeMany([start]);
  }

  async endWalk(walk: PendingWalk): Promise<void> {
    this.walks.delete(`${walk.exp} ${walk.key}`);
  }

  async pendingWalks(olderThanMs: number, limit: number): Promise<PendingWalk[]> {
    const now = this.now();
    const found: PendingWalk[] = [];
    for (const [id, { walk, since }] of this.walks) {
      if (walk.exp <= now) this.walks.delete(id);
      else if (since <= now * 1000 - olderThanMs && found.length < limit) found.push(walk);
    }
    return found;
  }

  async isRevoked(key: string): Promise<boolean> {
    return this.originOf(key) !== undefined;
  }

  /** The key whose revocation reached `key`, or undefined when it is not revoked (for the lineage store). */
  originOf(key: string): string | undefined {
    const entry = this.revoked.get(key);
    return entry !== undefined && entry.until > this.now() ? entry.origin : undefined;
  }

  async list(): Promise<RevokedList> {
    const now = this.now();
    const entries: Array<{ jti: string; exp: number }> = [];
    for (const [key, { until }] of this.revoked)
      if (until > now && isIssuedJti(key)) entries.push({ jti: key, exp: until });
    return { version: await this.version(), entries };
  }

  async version(): Promise<string> {
    return `${this.epoch}.${this.changes}`;
  }

  /** Drops entries whose token has expired, a few per revocation (an entry whose expiry was extended stays). */
  private sweep(): void {
    const now = this.now();
    this.expiring.sweep(now, (key) => {
      const entry = this.revoked.get(key);
      if (entry !== undefined && entry.until <= now) this.revoked.delete(key);
    });
  }

  get size(): number {
    return this.revoked.size;
  }
}
