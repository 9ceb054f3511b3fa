/**
 * Keys forgotten per sweep at most, by default: the lineage store's forgetting is a parse and two index
 * updates (a few µs each), the others' a lookup and a delete.
 */
export const FORGET_PER_SWEEP = 256;

/**
 * Keys by the second they expire, for the in-process stores: a sweep visits only what has expired, never
 * every live key, and forgets at most `perSweep` keys per call, so no single request pays for a whole
 * second's expiries (walking a Map of a million live keys took 13 ms, of three million 48 ms, once a
 * second, in whichever request came first).
 *
 * A key may be indexed more than once (its expiry extended); `sweep` hands each due key to the owner,
 * which forgets it only if the key's expiry, as the owner now holds it, has passed.
 */
export class ExpiryIndex {
  /** Expiry second → keys expiring then. */
  private readonly expiring = new Map<number, string[]>();
  /** Expired buckets not yet handed to the owner. */
  private readonly due: string[][] = [];
  /** The last second swept. */
  private swept: number;

  constructor(
    now: number,
    private readonly perSweep: number = FORGET_PER_SWEEP,
  ) {
    this.swept = Math.floor(now);
  }

  /** Indexes `key` under `exp` (seconds); a key already past is due at the next sweep. */
  add(key: string, exp: number): void {
    const second = Math.max(Math.ceil(exp), this.swept + 1);
    const bucket = this.expiring.get(second);
    if (bucket) bucket.push(key);
    else this.expiring.set(second, [key]);
  }

  /** Hands up to `perSweep` keys whose second has passed by `now` to `forget`. */
  sweep(now: number, forget: (key: string) => void): void {
    const second = Math.floor(now);
    if (second > this.swept) {
      if (second - this.swept > this.expiring.size) {
        // After a long idle spell, walk the buckets that exist rather than every second in between.
        for (const at of [...this.expiring.keys()]) if (at <= second) this.expire(at);
      } else {
        for (let at = this.swept + 1; at <= second; at++) this.expire(at);
      }
      this.swept = second;
    }
    for (let budget = this.perSweep; budget > 0 && this.due.length > 0;) {
      const bucket = this.due[this.due.length - 1]!;
      for (; budget > 0 && bucket.length > 0; budget--) forget(bucket.pop()!);
      if (bucket.length === 0) this.due.pop();
    }
  }

  private expire(second: number): void {
    const bucket = this.expiring.get(second);
    if (bucket === undefined) return;
    this.due.push(bucket);
    this.expiring.delete(second);
  }
}
