import { IsIn } from 'class-validator';
import {
  IsFlag,
  IsIntInRange,
  IsNonEmptyString,
  IsOmittable,
  IsSecretEnv,
  IsSecretFile,
  IsSecureUrl,
  IsStringList,
} from '../config/config-validators.js';

export const INTROSPECTION_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/**
 * The `introspection:` section of a trust-anchor file: how actbridge validates this issuer's *opaque*
 * access tokens, by RFC 7662 introspection. The secret never sits in the anchor file (anchor files are
 * meant to be committed and reviewed): it is read at startup from an environment variable or a file.
 */
export class IntrospectionConfig {
  /** The introspection endpoint; default: `introspection_endpoint` from the issuer's discovery metadata. */
  @IsOmittable()
  @IsSecureUrl()
  endpoint?: string;

  /** actbridge's client_id at this issuer (the credentials it introspects with). */
  @IsNonEmptyString()
  client_id!: string;

  @IsOmittable()
  @IsIn(INTROSPECTION_AUTH_METHODS)
  auth_method: (typeof INTROSPECTION_AUTH_METHODS)[number] = 'client_secret_basic';

  /** Name of the environment variable holding the client secret. */
  @IsSecretEnv()
  client_secret_env?: string;

  /** File holding the client secret (one line; relative to the anchor file). */
  @IsSecretFile()
  client_secret_file?: string;

  /**
   * Our clients that may present this issuer's opaque access tokens. An opaque token carries no issuer,
   * so this binding is what routes it: a client is bound to at most one introspecting anchor, and a
   * token is never sent to any other endpoint.
   */
  @IsStringList({ notEmpty: true, max: 500 })
  clients!: string[];

  /** Longest time an active answer is reused, seconds (never beyond the token's exp); 0: no cache. */
  @IsOmittable()
  @IsIntInRange(0, 300)
  cache_ttl = 30;

  /**
   * Refuse answers without `token_type` (RFC 7662 makes it optional). On by default: some servers
   * (oidc-provider among them) answer `active: true` without a token_type for a *refresh* token, which
   * must never pass as an access token.
   */
  @IsFlag()
  require_token_type = true;
}
