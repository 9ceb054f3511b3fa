/** One revocation: `key` revoked until `exp` because `origin` was revoked (itself, or an ancestor). */
export interface Revocation {
  /** A `jti` actbridge issued, or a root or subject key (lineage-keys.ts). */
  readonly key: string;
  /** Epoch seconds: the revoked token's expiry (after which it is dead anyway). */
  readonly exp: number;
  /** The key that was revoked directly; `key` itself unless the revocation cascaded to it. */
  readonly origin: string;
}

/** A cascade marked pending: its start key and the expiry it was revoked until (stores/cascade.ts). */
export interface PendingWalk {
  readonly key: string;
  readonly exp: number;
}

/** The revoked `jti`s resource servers are told about, and a version that changes whenever they do. */
export interface RevokedList {
  readonly version: string;
  readonly entries: ReadonlyArray<{ readonly jti: string; readonly exp: number }>;
}

/**
 * Revoked token identifiers (RFC 7009) and lineage keys, remembered until the token would have
 * expired anyway. Shared across instances when Redis is configured, like the ReplayStore beside it.
 * Revoked `jti`s of issued tokens are also listed for the revocation feed; reads answer only while the
 * store remembers every revocation (StoreEpoch).
 */
export interface RevocationStore {
  /** Records `jti` as revoked until `expiresAt` (epoch seconds). Idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  /**
   * Records every revocation given, in one step where the store allows; listed ones change the version.
   * Resolves to the keys that were not revoked before.
   */
  revokeMany(revocations: readonly Revocation[]): Promise<readonly string[]>;
  /**
   * Revokes a cascade's start (as revokeMany) and, in the same step, marks its walk pending until
   * `endWalk`: a walk the store cuts short is completed by any instance (CascadeResumer), no retry needed.
   */
  beginWalk(start: Revocation): Promise<readonly string[]>;
  /** Clears the mark of a walk that flagged every descendant. */
  endWalk(walk: PendingWalk): Promise<void>;
  /** Walks still marked that began at least `olderThanMs` ago, oldest first, at most `limit` (expired ones dropped). */
  pendingWalks(olderThanMs: number, limit: number): Promise<PendingWalk[]>;
  isRevoked(key: string): Promise<boolean>;
  /** The revoked issued `jti`s still within their lifetime. */
  list(): Promise<RevokedList>;
  /** The list's current version (cheap: to tell whether a cached list is current). */
  version(): Promise<string>;
  close?(): Promise<void>;
}

export const REVOCATION_STORE = Symbol('REVOCATION_STORE');
