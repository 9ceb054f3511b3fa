import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { IsJwkSet, IsSecureUrl } from '../config/config-validators.js';

/**
 * Signature algorithms a trust anchor may use. Asymmetric only: a shared-secret (HS*) key would let
 * anyone who verifies tokens also mint them, and `none` is never acceptable.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export const DEFAULT_ANCHOR_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];

/**
 * One trusted issuer, one file in `trust-anchors/`. Keys come from exactly one source: the issuer's
 * discovery metadata (default), an explicit `jwks_uri`, or a static `jwks` / `jwks_file`.
 */
export class TrustAnchorConfig {
  /** Short name used in logs; defaults to the file name without extension. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  name?: string;

  /** The `iss` value of its tokens, compared by exact string match. */
  @IsSecureUrl()
  issuer!: string;

  /** Which well-known document to discover: OpenID Connect (`oidc`, default) or RFC 8414 (`oauth2`). */
  @IsOptional()
  @IsIn(['oidc', 'oauth2'])
  discovery?: 'oidc' | 'oauth2';

  @IsOptional()
  @IsSecureUrl()
  jwks_uri?: string;

  @IsOptional()
  @IsObject()
  @IsJwkSet()
  jwks?: { keys: Array<Record<string, unknown>> };

  /** A JWKS file, relative to this anchor file. */
  @IsOptional()
  @IsString()
  jwks_file?: string;

  /** `aud` values by which this issuer names actbridge. A presented token must carry one of them. */
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsString({ each: true })
  audiences!: string[];

  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(ASYMMETRIC_ALGORITHMS, { each: true, message: 'each value must be an asymmetric JWS algorithm' })
  algorithms: string[] = DEFAULT_ANCHOR_ALGORITHMS;

  /**
   * JOSE `typ` values accepted on tokens presented as `access_token`. RFC 9068 says `at+jwt`; some
   * issuers send `JWT` and need it listed here explicitly.
   */
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  access_token_typ: string[] = ['at+jwt'];

  /**
   * Whether an `act` claim in this issuer's tokens is believed, and nested under the new actor. When
   * false, a presented token carrying `act` is refused: its chain cannot be vouched for.
   */
  @IsOptional()
  @IsBoolean()
  trusted_for_chains = false;

  /**
   * For demo issuers whose private key is public (like the one shipped in examples/): the anchor is
   * trusted only while actbridge runs on its ephemeral development key, and ignored, with a warning,
   * as soon as SIGNING_KEYS is configured. A real deployment cannot trust it by accident.
   */
  @IsOptional()
  @IsBoolean()
  development_only = false;

  /** Oldest accepted `iat`, seconds (unset: no limit beyond `exp`). */
  @IsOptional()
  @IsInt()
  @Min(1)
  max_token_age?: number;

  /** Clock skew for this issuer's tokens, seconds (default CLOCK_SKEW). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(300)
  clock_skew?: number;

  /**
   * The platform this issuer stands for when it vouches for a workload (e.g. `github-actions`,
   * `spiffe`): an actor token from this anchor is recorded as `act.attested_by: <label>`.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, {
    message: 'must be 1-64 letters, digits, ".", "_", ":", "/" or "-"',
  })
  attestation?: string;
}
