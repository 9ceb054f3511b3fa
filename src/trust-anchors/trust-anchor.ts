import type { JWTVerifyGetKey } from 'jose';

/** A trusted issuer, ready to verify tokens. Built from a trust-anchor file, or actbridge itself. */
export interface TrustAnchor {
  readonly name: string;
  readonly issuer: string;
  /** `aud` values naming actbridge in this issuer's tokens. */
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly accessTokenTyp: readonly string[];
  readonly trustedForChains: boolean;
  readonly clockSkew: number;
  readonly maxTokenAge: number | undefined;
  readonly developmentOnly: boolean;
  /** jose key resolver: keys come from the anchor's configured source only, never from token headers. */
  readonly keys: JWTVerifyGetKey;
  /** True for actbridge's own issuer (tokens it issued, presented again in a chain). */
  readonly self: boolean;
  /** Attestation label recorded in `act.attested_by` for actors this anchor vouches for. */
  readonly attestation?: string;
}
