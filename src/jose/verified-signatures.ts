import { hash } from 'node:crypto';

/**
 * JWS signatures this process has verified, each remembered with the key that verified it, so that a
 * token presented again (an agent or gateway exchanging one user token for every call) is not run
 * through the signature maths again. Only the signature's outcome is remembered, and only a valid one:
 * the caller still resolves the key from the anchor's current key set and checks the algorithm before
 * asking, and every claim (`exp`, `nbf`, `iss`, `aud`, `typ`, revocation, replay) after. A hit needs the
 * very bytes of the token (header, payload and signature: RFC 7515 §5.2 verifies all three together) and
 * the very key object the anchor hands out now, so a key that left its set, or was replaced under the same
 * `kid`, matches nothing here. (Envoy's `jwt_authn` filter offers a cache of verified JWTs for the same
 * reason; it keeps the claims too, where only the signature's outcome is kept here.)
 *
 * Tokens are kept by their SHA-256 (32 bytes, not the whole token), the oldest forgotten first once
 * `capacity` are held; 0 remembers nothing.
 */
export class VerifiedSignatures {
  private readonly entries = new Map<string, object>();
  /**
   * The ids in the order they were first remembered, overwritten in turn once full: Map's own order would
   * do, but V8 reaches its first key past every entry deleted before it, so evicting by it costs ~6 µs.
   */
  private readonly order: string[] = [];
  private next = 0;

  constructor(
    readonly capacity: number,
    /** Told of every lookup (metrics): whether the token was found with its key. */
    private readonly looked?: (hit: boolean) => void,
  ) {}

  /** What a token is remembered by (undefined when nothing is: capacity 0). */
  idOf(token: string): string | undefined {
    return this.capacity === 0 ? undefined : hash('sha256', token, 'binary');
  }

  /** Whether the token named `id` had its signature verified with this very `key` object. */
  verified(id: string, key: object): boolean {
    const hit = this.entries.get(id) === key;
    this.looked?.(hit);
    return hit;
  }

  /** Records that the token named `id` had its signature verified with `key`. */
  remember(id: string, key: object): void {
    if (!this.entries.has(id)) {
      if (this.order.length < this.capacity) this.order.push(id);
      else {
        this.entries.delete(this.order[this.next]!);
        this.order[this.next] = id;
        this.next = (this.next + 1) % this.capacity;
      }
    }
    this.entries.set(id, key);
  }

  get size(): number {
    return this.entries.size;
  }
}
