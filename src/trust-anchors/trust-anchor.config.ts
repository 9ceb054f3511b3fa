import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsString,
  Matches,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  IsFlag,
  IsInlineJwks,
  IsIntInRange,
  IsListOf,
  IsMappingOf,
  IsNameList,
  IsOmittable,
  IsSection,
  IsSecureUrl,
  IsUniqueList,
} from '../config/config-validators.js';
import { PolicyRuleConfig } from '../policy/policy-rule.config.js';
import { DEFAULT_ANCHOR_TOKEN_TYPES, TOKEN_TYPE_NAMES } from '../oauth/token-types.js';
import { IntrospectionConfig } from './introspection.config.js';
import { JwtBearerAnchorConfig } from './jwt-bearer-anchor.config.js';
import { IdJagAnchorConfig } from '../id-jag/id-jag-anchor.config.js';
import { SamlAnchorConfig } from '../saml/saml-anchor.config.js';

/** OIDC anchors only: the loader checks a SAML anchor's issuer (any absolute URI) and refuses these fields. */
const isOidc = (anchor: TrustAnchorConfig) => anchor.kind !== 'saml';

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
  @IsOmittable()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  name?: string;

  /** The `iss` value of its tokens, compared by exact string match. */
  @ValidateIf(isOidc)
  @IsSecureUrl()
  issuer!: string;

  /** Which well-known document to discover: OpenID Connect (`oidc`, default) or RFC 8414 (`oauth2`). */
  @IsOmittable()
  @IsIn(['oidc', 'oauth2'])
  discovery?: 'oidc' | 'oauth2';

  @IsOmittable()
  @IsSecureUrl()
  jwks_uri?: string;

  @IsInlineJwks()
  jwks?: { keys: Array<Record<string, unknown>> };

  /** A JWKS file, relative to this anchor file. */
  @IsOmittable()
  @IsString()
  jwks_file?: string;

  /** `aud` values by which this issuer names actbridge. A presented token must carry one of them. */
  @ValidateIf(isOidc)
  @IsNameList({ notEmpty: true })
  audiences!: string[];

  @IsOmittable()
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(ASYMMETRIC_ALGORITHMS, { each: true, message: 'each value must be an asymmetric JWS algorithm' })
  algorithms: string[] = DEFAULT_ANCHOR_ALGORITHMS;

  /**
   * JOSE `typ` values accepted on tokens presented as `access_token`. RFC 9068 says `at+jwt`; some
   * issuers send `JWT` and need it listed here explicitly.
   */
  @IsOmittable()
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  access_token_typ: string[] = ['at+jwt'];

  /**
   * Whether an `act` claim in this issuer's tokens is believed, and nested under the new actor. When
   * false, a presented token carrying `act` is refused: its chain cannot be vouched for.
   */
  @IsFlag()
  trusted_for_chains = false;

  /**
   * For demo issuers whose private key is public (like the one shipped in examples/): the anchor is
   * trusted only under `start-dev` (whatever SIGNING_KEYS says); production refuses to start while the
   * file is there (productionProblems). A real deployment cannot trust it by accident.
   */
  @IsFlag()
  development_only = false;

  /** Oldest accepted `iat`, seconds (unset: no limit beyond `exp`). */
  @IsOmittable()
  @IsIntInRange(1)
  max_token_age?: number;

  /**
   * Longest remaining lifetime (exp - now) accepted of this issuer's tokens, seconds (default
   * MAX_PRESENTED_TOKEN_LIFETIME): a token expiring further ahead is refused, whatever signed it.
   */
  @IsOmittable()
  @IsIntInRange(1, 31536000)
  max_token_lifetime?: number;

  /** Clock skew for this issuer's tokens, seconds (default CLOCK_SKEW). */
  @IsOmittable()
  @IsIntInRange(0, 300)
  clock_skew?: number;

  /**
   * Policy (CEL): what a subject from this issuer may obtain. The first rule whose condition holds grants
   * audiences, scopes, max lifetime, chain trust and the issued `sub`; a subject matching no rule gets
   * nothing. Without `rules`, the token's own scope and the client's policy decide (see README).
   */
  @IsOmittable()
  @IsListOf(() => PolicyRuleConfig)
  rules?: PolicyRuleConfig[];

  /**
   * Token types this issuer issues, by short name (`access_token`, `id_token`, `jwt`, ...). A token
   * presented as a type its issuer does not issue is refused before anything else is checked.
   */
  @IsOmittable()
  @IsUniqueList(
    IsIn(Object.keys(TOKEN_TYPE_NAMES), {
      each: true,
      message: `each value must be one of ${Object.keys(TOKEN_TYPE_NAMES).join(', ')}`,
    }),
    { notEmpty: true },
  )
  token_types: string[] = DEFAULT_ANCHOR_TOKEN_TYPES;

  /**
   * Our client_id → the client's identifier(s) at this issuer. An ID token must be addressed to the
   * presenting client's id here (without an entry: its client_id itself); an access token or JWT whose
   * `aud` names it may be presented by that client (RFC 8693 "on behalf of"; explicit entries only).
   */
  @IsOmittable()
  @ValidateBy(
    {
      name: 'isClientIdMap',
      validator: { validate: isClientIdMap },
    },
    { message: 'must map client_id to an identifier string or a list of 1-20 identifier strings' },
  )
  client_ids: Record<string, string | string[]> = {};

  /** RFC 7662 introspection of this issuer's opaque access tokens. */
  @IsOmittable()
  @ValidateNested()
  @Type(() => IntrospectionConfig)
  introspection?: IntrospectionConfig;

  /** ID-JAG: redeem this issuer's ID-JAGs at the jwt-bearer grant (see trust-anchors/README.md). */
  @IsSection(() => IdJagAnchorConfig, 'must be a mapping (write {} to accept the defaults)')
  id_jag?: IdJagAnchorConfig;

  /** RFC 7523: accept this issuer's other JWTs as jwt-bearer authorization grants. */
  @IsSection(() => JwtBearerAnchorConfig, 'must be a mapping (write {} to accept the defaults)')
  jwt_bearer?: JwtBearerAnchorConfig;

  /**
   * `oidc` (default): an issuer of JWTs. `saml`: a SAML 2.0 IdP; `issuer` is then its entity ID (any
   * absolute URI, compared exactly) and its keys and options are in `saml:`.
   */
  @IsOmittable()
  @IsIn(['oidc', 'saml'])
  kind: 'oidc' | 'saml' = 'oidc';

  /** `kind: saml` only: the IdP's certificates and assertion options. */
  @ValidateIf((anchor: TrustAnchorConfig) => anchor.kind === 'saml' || anchor.saml !== undefined)
  @IsMappingOf(() => SamlAnchorConfig, {
    message: 'is required for kind: saml (metadata_file, metadata_url or certificates)',
  })
  saml?: SamlAnchorConfig;

  /**
   * The platform this issuer stands for when it vouches for a workload (e.g. `github-actions`,
   * `spiffe`): an actor token from this anchor is recorded as `act.attested_by: <label>`.
   */
  @IsOmittable()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, {
    message: 'must be 1-64 letters, digits, ".", "_", ":", "/" or "-"',
  })
  attestation?: string;
}

function isClientIdMap(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const isId = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 500;
  return Object.values(value).every(
    (v) => isId(v) || (Array.isArray(v) && v.length > 0 && v.length <= 20 && v.every(isId)),
  );
}
