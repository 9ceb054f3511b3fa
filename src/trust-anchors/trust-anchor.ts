import type { JWTVerifyGetKey } from 'jose';
import type { AnchorPolicy } from '../policy/anchor-policy.js';
import type { SamlSignatureSettings } from '../saml/saml2-signature.js';
import type { IdJagAnchorConfig } from '../id-jag/id-jag-anchor.config.js';
import type { JwtBearerAnchorConfig } from './jwt-bearer-anchor.config.js';
import type { TokenIntrospector } from './token-introspector.js';

/** What every trusted issuer has, whatever its tokens' format. One object per anchor file, built once. */
interface AnchorBase {
  readonly name: string;
  /** JWT `iss`, or the SAML IdP's entity ID; compared exactly. */
  readonly issuer: string;
  readonly developmentOnly: boolean;
  readonly clockSkew: number;
  /** Whether a delegation chain (`act`) in this issuer's tokens is believed. */
  readonly trustedForChains: boolean;
  /** Attestation label recorded in `act.attested_by` for actors this anchor vouches for. */
  readonly attestation?: string;
  /** The anchor's compiled `rules:`; undefined when the file has none (and for actbridge itself). */
  readonly policy?: AnchorPolicy;
  /** True for actbridge's own issuer (tokens it issued, presented again in a chain). */
  readonly self: boolean;
  /** Whether tokens can be verified now: static keys, or a remote key set fetched and not too stale. */
  usable(): boolean;
  /** Fetches remote keys now, within the fetch cooldown (a no-op for static keys); never throws. */
  warmUp(): Promise<void>;
}

/** A trusted JWT issuer (OIDC provider, CI platform, partner STS, or actbridge itself). */
export interface JwtTrustAnchor extends AnchorBase {
  readonly kind: 'jwt';
  /** `aud` values naming actbridge in this issuer's tokens. */
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly accessTokenTyp: readonly string[];
  readonly maxTokenAge: number | undefined;
  /** Longest accepted remaining lifetime (exp - now) of a presented token, seconds. */
  readonly maxTokenLifetime: number;
  /** jose key resolver: keys come from the anchor's configured source only, never from token headers. */
  readonly keys: JWTVerifyGetKey;
  /** Token type URIs this issuer issues (`token_types`); anything else is refused. */
  readonly tokenTypes: readonly string[];
  /** Our client_id → the client's identifiers at this issuer (`client_ids`), explicit entries only. */
  readonly clientIds: ReadonlyMap<string, readonly string[]>;
  /** RFC 7662 introspection of this issuer's opaque access tokens, when configured. */
  readonly introspection?: TokenIntrospector;
  /** `jwt_bearer:`: this issuer's RFC 7523 assertions are accepted as grants. */
  readonly jwtBearer?: JwtBearerAnchorConfig;
  /** `id_jag:`: this issuer's ID-JAGs are redeemed. */
  readonly idJag?: IdJagAnchorConfig;
}

/** A trusted SAML 2.0 IdP (`kind: saml`). */
export interface SamlTrustAnchor extends AnchorBase, SamlSignatureSettings {
  readonly kind: 'saml';
  /** Longest accepted time from now to NotOnOrAfter, seconds. */
  readonly maxAssertionLifetime: number;
  /** Attribute Name → the friendly name it is renamed to in the token's claims. */
  readonly attributeRenames: ReadonlyMap<string, string>;
  /** The same renames the other way: friendly name → the attribute Name it is reserved for. */
  readonly attributeClaims: ReadonlyMap<string, string>;
  /** The IdP's signing certificates (PEM), from the anchor only; throws KeysUnavailableError if unknown. */
  certificates(): Promise<readonly string[]>;
}

export type TrustAnchor = JwtTrustAnchor | SamlTrustAnchor;
