import {
  MAX_ANCESTORS,
  type LineageChild,
  type LineageEntry,
  type LineageInspection,
  type LineageStore,
  type NewLineageEntry,
  type RecordOutcome,
} from './lineage-store.js';
import type { MemoryRevocationStore } from './memory-revocation-store.js';
import { ExpiryIndex } from './expiry-index.js';
import { clock } from '../common/clock.js';

/**
 * In-process lineage: correct for one instance only (as its revocation store). Several instances need REDIS_URL.
 *
 * An instance holds one entry per live token (its issue rate × the tokens' lifetime), so entries are kept
 * in the form the garbage collector handles best: a token's entry is one string (its expiry, then its JSON)
 * under its `jti`, and the children indexes hold `jti`s, so a live token costs the collector two strings
 * rather than an object, three arrays and boxed numbers. Each full collection marks every live object:
 * 100,000 live entries as objects made a full collection take 50–140 ms (docs/lineage.md has the figures).
 * Reads parse the entry; they are few (a presented token actbridge issued, an inspection, a cascade, the
 * sweep of an expired token).
 */
export class MemoryLineageStore implements LineageStore {
  /** jti → `<exp> <entry as JSON>`: the expiry is read without parsing the entry. */
  private readonly records = new Map<string, string>();
  /**
   * Parent key → the key's one instance (a subject's or root's key is computed afresh for every request,
   * and each copy would live as long as its token) and its children's `jti`s (their expiry is in `records`).
   */
  private readonly kids = new Map<string, { readonly key: string; readonly children: Set<string> }>();
  /**
   * jtis by expiry, a few hundred forgotten per `record` (expiry-index.ts): tokens capped at one presented
   * token's expiry (a SAML assertion's, an ID-JAG's) expire in the same second by the thousand, and
   * forgetting them all at once held one request for 70 ms in the bench. An expired entry still held is
   * never used: every read checks `exp`.
   */
  private readonly expiring: ExpiryIndex;

  constructor(
    private readonly revocations: MemoryRevocationStore,
    private readonly now: () => number = () => clock.ms() / 1000,
  ) {
    this.expiring = new ExpiryIndex(now());
  }

  async record(token: NewLineageEntry, known: readonly string[]): Promise<RecordOutcome> {
    this.expiring.sweep(this.now(), (jti) => this.forget(jti));
    const parents = token.parents.map((key) => this.canonical(key));
    const subject = this.canonical(token.subject);
    const ancestors = [...parents];
    const add = (key: string) => {
      if (!ancestors.includes(key)) ancestors.push(key);
    };
    for (const key of known) add(this.canonical(key));
    add(subject);
    for (const parent of parents) for (const key of this.live(parent)?.ancestors ?? []) add(key);
    for (const key of ancestors) {
      const origin = this.revocations.originOf(key);
      if (origin !== undefined) return { recorded: false, ancestors: ancestors.length, revoked: { key, origin } };
    }
    if (ancestors.length > MAX_ANCESTORS) return { recorded: false, ancestors: ancestors.length };
    // Not `{ ...token, ancestors }`: V8 takes a slow path for a spread followed by more properties.
    const entry: LineageEntry = Object.assign({ ancestors }, token, { parents, subject });
    this.records.set(entry.jti, `${entry.exp} ${JSON.stringify(entry)}`);
    this.expiring.add(entry.jti, entry.exp);
    for (const parent of entry.parents) this.addChild(parent, entry);
    if (!entry.parents.includes(entry.subject)) this.addChild(entry.subject, entry);
    return { recorded: true, ancestors: ancestors.length };
  }

  private addChild(parent: string, entry: LineageEntry): void {
    let node = this.kids.get(parent);
    if (!node) this.kids.set(parent, (node = { key: parent, children: new Set() }));
    node.children.add(entry.jti);
  }

  private canonical(key: string): string {
    return this.kids.get(key)?.key ?? key;
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
      for (const jti of this.kids.get(key)?.children ?? []) {
        const stored = this.records.get(jti);
        const exp = stored === undefined ? 0 : expiryOf(stored);
        if (exp > now) found.set(jti, exp);
      }
    }
    return [...found].map(([jti, exp]) => ({ jti, exp }));
  }

  private live(jti: string): LineageEntry | undefined {
    const stored = this.records.get(jti);
    return stored !== undefined && expiryOf(stored) > this.now() ? entryOf(stored) : undefined;
  }

  private forget(jti: string): void {
    const stored = this.records.get(jti);
    if (stored === undefined) return;
    this.records.delete(jti);
    const entry = entryOf(stored);
    for (const parent of [...entry.parents, entry.subject]) {
      const children = this.kids.get(parent)?.children;
      children?.delete(jti);
      if (children?.size === 0) this.kids.delete(parent);
    }
  }

  get size(): number {
    return this.records.size;
  }
}

function expiryOf(stored: string): number {
  return Number(stored.slice(0, stored.indexOf(' ')));
}

function entryOf(stored: string): LineageEntry {
  return JSON.parse(stored.slice(stored.indexOf(' ') + 1)) as LineageEntry;
}
