/**
 * Revoked token identifiers (RFC 7009), remembered until the token would have expired anyway. Shared
 * across instances when Redis is configured, like the ReplayStore beside it.
 */
export interface RevocationStore {
  /** Records `jti` as revoked until `expiresAt` (epoch seconds). Idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  close?(): Promise<void>;
}

export const REVOCATION_STORE = Symbol('REVOCATION_STORE');
