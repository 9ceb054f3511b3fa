import type { JWTVerifyGetKey } from 'jose';
import type { TokenIntrospector } from './token-introspector.js';

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
  /** Longest accepted remaining lifetime (exp - now) of a presented token, seconds. */
  readonly maxTokenLifetime: number;
  readonly developmentOnly: boolean;
  /** jose key resolver: keys come from the anchor's configured source only, never from token headers. */
  readonly keys: JWTVerifyGetKey;
  /** Whether tokens can be verified now: static keys, or a remote key set fetched and not too stale. */
  usable(): boolean;
  /** Fetches remote keys now, within the fetch cooldown (a no-op for static keys); never throws. */
  warmUp(): Promise<void>;
  /** True for actbridge's own issuer (tokens it issued, presented again in a chain). */
  readonly self: boolean;
  /** Token type URIs this issuer issues (`token_types`); anything else is refused. */
  readonly tokenTypes: readonly string[];
  /** Our client_id → the client's identifiers at this issuer (`client_ids`), explicit entries only. */
  readonly clientIds: ReadonlyMap<string, readonly string[]>;
  /** RFC 7662 introspection of this issuer's opaque access tokens, when configured. */
  readonly introspection?: TokenIntrospector;
  /** Attestation label recorded in `act.attested_by` for actors this anchor vouches for. */
  readonly attestation?: string;
}
