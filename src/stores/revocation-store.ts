/** One revocation: `key` revoked until `exp` because `origin` was revoked (itself, or an ancestor). */
export interface Revocation {
  /** A `jti` actbridge issued, or a root or subject key (lineage-keys.ts). */
  readonly key: string;
  /** Epoch seconds: the revoked token's expiry (after which it is dead anyway). */
  readonly exp: number;
  /** The key that was revoked directly; `key` itself unless the revocation cascaded to it. */
  readonly origin: string;
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
   * Resolves to how many of the keys were not revoked before.
   */
  revokeMany(revocations: readonly Revocation[]): Promise<number>;
  isRevoked(key: string): Promise<boolean>;
  /** The revoked issued `jti`s still within their lifetime. */
  list(): Promise<RevokedList>;
  /** The list's current version (cheap: to tell whether a cached list is current). */
  version(): Promise<string>;
  close?(): Promise<void>;
}

export const REVOCATION_STORE = Symbol('REVOCATION_STORE');
