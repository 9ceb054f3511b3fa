import { clock } from '../common/clock.js';
/**
 * What the playground may show a page about its own token requests. The page sends a fresh random
 * reference (`X-Playground-Ref`, 128 bits or more) with each request to the token endpoint; the audit
 * line of that request is kept under the reference, and only a caller presenting the reference gets it
 * back. A reference is bound once (first request wins), kept a short while, and the store is bounded,
 * so nothing here grows with traffic or outlives the page that asked.
 */

/** base64url, at least 22 characters (128 bits). */
const REF_FORMAT = /^[A-Za-z0-9_-]{22,64}$/;

export interface PageTracesOptions {
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly at: number;
  readonly requestId: string;
  line?: Readonly<Record<string, unknown>>;
}

export type AuditLine = Readonly<Record<string, unknown>>;

export class PageTraces {
  private readonly byRef = new Map<string, Entry>();
  /** Requests still running: request id → reference. */
  private readonly pending = new Map<string, string>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: PageTracesOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.maxEntries = options.maxEntries ?? 1000;
    this.now = options.now ?? clock.ms;
  }

  static isRef(value: unknown): value is string {
    return typeof value === 'string' && REF_FORMAT.test(value);
  }

  /** Ties a request to a page's reference; false for a malformed or already used reference. */
  bind(requestId: string, ref: string): boolean {
    this.expire();
    if (!PageTraces.isRef(ref) || this.byRef.has(ref)) return false;
    this.byRef.set(ref, { at: this.now(), requestId });
    this.pending.set(requestId, ref);
    while (this.byRef.size > this.maxEntries) this.drop(this.byRef.keys().next().value!);
    return true;
  }

  /** Keeps an audit line when its request was bound to a reference. */
  record(line: AuditLine): void {
    const requestId = line.request_id;
    if (typeof requestId !== 'string') return;
    const ref = this.pending.get(requestId);
    if (ref === undefined) return;
    this.pending.delete(requestId);
    const entry = this.byRef.get(ref);
    if (entry) entry.line = line;
  }

  /** The request has been answered: a line it did not leave will not come. */
  release(requestId: string): void {
    this.pending.delete(requestId);
  }

  /** The audit line of the request bound to `ref`, while it is kept. */
  lineOf(ref: string): AuditLine | undefined {
    this.expire();
    return this.byRef.get(ref)?.line;
  }

  get size(): number {
    return this.byRef.size;
  }

  private expire(): void {
    const oldest = this.now() - this.ttlMs;
    for (const [ref, entry] of this.byRef) {
      if (entry.at > oldest) break; // insertion order is time order
      this.drop(ref);
    }
  }

  private drop(ref: string): void {
    const entry = this.byRef.get(ref);
    if (entry) this.pending.delete(entry.requestId);
    this.byRef.delete(ref);
  }
}
