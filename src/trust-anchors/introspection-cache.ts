import { createHash } from 'node:crypto';

/**
 * Recent RFC 7662 answers of one introspection endpoint, keyed by the SHA-256 of the token: the token
 * itself is never kept. Only *active* answers are stored, for at most `ttlSec` and never beyond the
 * token's own `exp`. Inactive answers are not cached: asking again is cheap, a client rarely repeats a
 * dead token, and a negative entry would wrongly outlive a token that is not valid *yet* (`nbf`).
 * Bounded: at `maxEntries`, the oldest entry goes.
 */
export class IntrospectionCache {
  private readonly entries = new Map<string, { answer: Readonly<Record<string, unknown>>; until: number }>();

  constructor(
    private readonly ttlSec: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('base64url');
  }

  get(key: string): Readonly<Record<string, unknown>> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  set(key: string, answer: Readonly<Record<string, unknown>>): void {
    if (this.ttlSec <= 0 || answer.active !== true || typeof answer.exp !== 'number') return;
    const until = Math.min(this.now() + this.ttlSec * 1000, answer.exp * 1000);
    if (until <= this.now()) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { answer, until });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops expired entries; if none were, the oldest one. */
  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.until <= now) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
