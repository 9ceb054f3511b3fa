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
 * in the form the garbage collector handles best: a token's entry is one flat string (`storedForm`: its
 * JSON, expiry first) under its `jti`, and the children indexes hold `jti`s, so a live token costs the
 * collector two strings rather than an object, three arrays and boxed numbers. Each full collection marks
 * every live object: 100,000 live entries as objects made a full collection take 50–140 ms, and every
 * young collection copies the entries recorded since the last (docs/lineage.md has the figures). Reads
 * parse the entry; they are few (a presented token actbridge issued, an inspection, a cascade, the sweep
 * of an expired token).
 */
export class MemoryLineageStore implements LineageStore {
  /** jti → the entry as stored (`storedForm`): the expiry is read without parsing the rest. */
  private readonly records = new Map<string, string>();
  /**
   * Parent key → the key's one instance (a subject's or root's key is computed afresh for every request,
   * and each copy would live as long as its token) and its children's `jti`s (their expiry is in `records`):
   * the one `jti` itself while there is one, as most upstream roots have (a Set costs 150 bytes more).
   */
  private readonly kids = new Map<string, { readonly key: string; children: string | Set<string> }>();
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
    this.records.set(entry.jti, storedForm(entry));
    this.expiring.add(entry.jti, entry.exp);
    for (const parent of entry.parents) this.addChild(parent, entry);
    if (!entry.parents.includes(entry.subject)) this.addChild(entry.subject, entry);
    // docs/lineage.md: the presented tokens' subject keys index it too (a rule may form another `sub`,
    // an actor's is its own), so that revoking one of them reaches it in the cascade and the list.
    for (const key of known) {
      const canonical = this.canonical(key);
      if (canonical !== entry.subject && !entry.parents.includes(canonical)) this.addChild(canonical, entry);
    }
    return { recorded: true, ancestors: ancestors.length };
  }

  private addChild(parent: string, entry: LineageEntry): void {
    const node = this.kids.get(parent);
    if (!node) this.kids.set(parent, { key: parent, children: entry.jti });
    else if (typeof node.children !== 'string') node.children.add(entry.jti);
    else if (node.children !== entry.jti) node.children = new Set([node.children, entry.jti]);
  }

  private childrenOf(key: string): Iterable<string> {
    const children = this.kids.get(key)?.children;
    return children === undefined ? [] : typeof children === 'string' ? [children] : children;
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

  /** `revoking` changes nothing here: process memory is never in doubt. */
  async children(keys: readonly string[], _revoking?: boolean): Promise<LineageChild[]> {
    const now = this.now();
    const found = new Map<string, number>();
    for (const key of keys) {
      for (const jti of this.childrenOf(key)) {
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
    // Its ancestors include every key whose index holds it (parents, known keys, subject).
    for (const parent of entry.ancestors) {
      const node = this.kids.get(parent);
      if (node === undefined) continue;
      if (typeof node.children !== 'string') {
        node.children.delete(jti);
        if (node.children.size === 0) this.kids.delete(parent);
      } else if (node.children === jti) {
        this.kids.delete(parent);
      }
    }
  }

  get size(): number {
    return this.records.size;
  }
}

/**
 * An entry as stored: its JSON with `exp` first (read by `expiryOf` without parsing the rest) and, of its
 * ancestors, only those after its parents (which always come first), as `above`. One flat string: a
 * prefix joined to the JSON would be a second string and a rope around both, 60 more bytes a token.
 */
export function storedForm(entry: LineageEntry): string {
  // Every field of LineageEntry, by name: a spread followed by more properties takes V8's slow path.
  const stored: StoredEntry = {
    exp: entry.exp,
    jti: entry.jti,
    parents: entry.parents,
    subject: entry.subject,
    client_id: entry.client_id,
    actor: entry.actor,
    audience: entry.audience,
    typ: entry.typ,
    iat: entry.iat,
    above: entry.ancestors.slice(entry.parents.length),
  };
  return JSON.stringify(stored);
}

type StoredEntry = Omit<LineageEntry, 'ancestors'> & { readonly above: readonly string[] };

const EXP_AT = '{"exp":'.length;

export function expiryOf(stored: string): number {
  return Number(stored.slice(EXP_AT, stored.indexOf(',', EXP_AT)));
}

export function entryOf(stored: string): LineageEntry {
  const { above, ...entry } = JSON.parse(stored) as StoredEntry;
  return { ...entry, ancestors: [...entry.parents, ...above] };
}
