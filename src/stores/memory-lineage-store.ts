import type { LineageChild, LineageEntry, LineageInspection, LineageStore } from './lineage-store.js';
import type { MemoryRevocationStore } from './memory-revocation-store.js';
import { clock } from '../common/clock.js';

/** In-process lineage: correct for one instance only (as its revocation store). Several instances need REDIS_URL. */
export class MemoryLineageStore implements LineageStore {
  private readonly records = new Map<string, LineageEntry>();
  /** Parent key → child jti → child exp. */
  private readonly kids = new Map<string, Map<string, number>>();
  private nextSweep = 0;

  constructor(
    private readonly revocations: MemoryRevocationStore,
    private readonly now: () => number = () => clock.ms() / 1000,
  ) {}

  async record(entry: LineageEntry): Promise<void> {
    this.sweep();
    this.records.set(entry.jti, entry);
    for (const parent of new Set([...entry.parents, entry.subject])) {
      let children = this.kids.get(parent);
      if (!children) this.kids.set(parent, (children = new Map()));
      children.set(entry.jti, entry.exp);
    }
  }

  async inspect(keys: readonly string[]): Promise<LineageInspection> {
    const all = [...new Set(keys)];
    const own = all.length;
    for (let i = 0; i < own; i++) {
      for (const ancestor of this.live(all[i]!)?.ancestors ?? []) if (!all.includes(ancestor)) all.push(ancestor);
    }
    const ancestors = all.slice(own);
    for (const key of all) {
      const origin = this.revocations.originOf(key);
      if (origin !== undefined) return { revoked: { key, origin }, ancestors };
    }
    return { ancestors };
  }

  async entries(jtis: readonly string[]): Promise<Array<LineageEntry | undefined>> {
    return jtis.map((jti) => this.live(jti));
  }

  async children(keys: readonly string[]): Promise<LineageChild[]> {
    const now = this.now();
    const found = new Map<string, number>();
    for (const key of keys) {
      for (const [jti, exp] of this.kids.get(key) ?? []) if (exp > now) found.set(jti, exp);
    }
    return [...found].map(([jti, exp]) => ({ jti, exp }));
  }

  private live(jti: string): LineageEntry | undefined {
    const entry = this.records.get(jti);
    return entry && entry.exp > this.now() ? entry : undefined;
  }

  /** Drops expired entries and children at most once a second, so memory stays bounded by live tokens. */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1;
    for (const [jti, entry] of this.records) if (entry.exp <= now) this.records.delete(jti);
    for (const [parent, children] of this.kids) {
      for (const [jti, exp] of children) if (exp <= now) children.delete(jti);
      if (children.size === 0) this.kids.delete(parent);
    }
  }

  get size(): number {
    return this.records.size;
  }
}
