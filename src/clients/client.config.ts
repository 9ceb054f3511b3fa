import 'reflect-metadata';
import { IsIn, IsString, Matches, MinLength, ValidateBy } from 'class-validator';
import { parseSecretHash } from './client-secret.js';
import {
  IsFlag,
  IsInlineJwks,
  IsIntInRange,
  IsListOf,
  IsNameList,
  IsOmittable,
  IsScopeList,
  IsSection,
  IsSecureUrl,
  IsUniqueList,
} from '../config/config-validators.js';
import { IdJagClientConfig } from '../id-jag/id-jag-client.config.js';
import { SUPPORTED_GRANT_TYPES, TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * One registered client and its policy. Field names follow OAuth client metadata (RFC 7591) where one
 * exists. The loader checks the cross-field rules (secret or keys present for the auth method, the
 * default audience on the allowlist, token_ttl within MAX_TOKEN_TTL).
 */
export class ClientConfig {
  @IsString()
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'must be 1-200 printable ASCII characters without spaces' })
  client_id!: string;

  @IsOmittable()
  @IsString()
  name?: string;

  @IsIn(CLIENT_AUTH_METHODS)
  token_endpoint_auth_method!: ClientAuthMethod;

  /** Plaintext secret: development only (a warning is logged). Prefer client_secret_hash. */
  @IsOmittable()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  client_secret?: string;

  /** `$scrypt$ln=..,r=..,p=..$salt$hash`, as printed by `npm run hash-secret`. */
  @IsOmittable()
  @ValidateBy({
    name: 'isScryptSecretHash',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseSecretHash(value) !== undefined,
      defaultMessage: () =>
        'must be a $scrypt$ln=..,r=..,p=..$salt$hash string as printed by npm run hash-secret ' +
        '(ln 10-20, r 1-32, p 1-16, ln below 16·r as RFC 7914 §2 requires, 128·2^ln·r·p at most 256 MiB, ' +
        '16+ byte salt, 32-byte hash)',
    },
  })
  client_secret_hash?: string;

  /** private_key_jwt: the client's public keys, inline. */
  @IsInlineJwks()
  jwks?: { keys: Array<Record<string, unknown>> };

  /** private_key_jwt: a JWKS file, relative to the clients file. */
  @IsOmittable()
  @IsString()
  jwks_file?: string;

  /** private_key_jwt: where the client publishes its keys. */
  @IsOmittable()
  @IsSecureUrl()
  jwks_uri?: string;

  /** Grants this client may use (default: token exchange). Empty: no token endpoint use (it may still introspect). */
  @IsOmittable()
  @IsUniqueList(IsIn(SUPPORTED_GRANT_TYPES, { each: true }))
  grant_types: string[] = [TOKEN_EXCHANGE_GRANT];

  /** Allowlist of targets (`audience` or `resource` values) this client may request tokens for. */
  @IsNameList()
  audiences!: string[];

  /** Target used when a request names none. Must be on `audiences`. */
  @IsOmittable()
  @IsString()
  default_audience?: string;

  /** Scopes this client may obtain (further narrowed by the subject token's own scope). */
  @IsOmittable()
  @IsScopeList()
  scopes: string[] = [];

  /** Lifetime of tokens issued to this client, seconds (default TOKEN_TTL, at most MAX_TOKEN_TTL). */
  @IsOmittable()
  @IsIntInRange(1)
  token_ttl?: number;

  /**
   * Allow impersonation: without an actor token, issue a token with no `act` (the audit line still
   * names the client). Never applies to subject tokens that carry `act` or `may_act`.
   */
  @IsFlag()
  impersonation = false;

  /**
   * Cross App Access: the resource authorization servers this client may obtain ID-JAGs for
   * (requested_token_type id-jag), and its client_id at each. Absent: no ID-JAGs for this client.
   */
  @IsSection(() => IdJagClientConfig, 'must be a mapping with targets')
  id_jag?: IdJagClientConfig;

  /**
   * `aud` values by which actbridge's tokens name this client as their resource server: it may introspect
   * tokens addressed to them (RFC 7662; its client_id always counts). For resource servers, usually
   * registered with `grant_types: []`.
   */
  @IsOmittable()
  // Compared as written with the token's aud, like `audiences`: " api" would match no token (inactive always).
  @IsNameList({ max: 50 })
  resource_audiences: string[] = [];

  /**
   * RFC 9449 §5.2 client metadata: every token request of this client must carry a valid DPoP proof,
   * so every token it obtains is sender-constrained (`cnf.jkt`, `token_type: DPoP`).
   */
  @IsFlag()
  dpop_bound_access_tokens = false;

  /**
   * Operator access over HTTP (docs/lineage.md): this client may revoke any token actbridge issued at the
   * revocation endpoint, and any `jti`, upstream root or subject at `POST /admin/revoke`, with every
   * descendant. Off unless set; give it to an operator's client only, with `grant_types: []`.
   */
  @IsFlag()
  revocation_admin = false;
}

export class ClientsFile {
  @IsListOf(() => ClientConfig)
  clients!: ClientConfig[];
}
