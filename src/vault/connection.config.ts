import { ArrayNotEmpty, IsIn, IsString, Matches } from 'class-validator';
import {
  IsFlag,
  IsListOf,
  IsMappingOf,
  IsNameList,
  IsNonEmptyString,
  IsOmittable,
  IsScopeList,
  IsSecretEnv,
  IsSecretFile,
  IsSecureUrl,
  IsStringList,
  IsStringMap,
  IsUniqueList,
} from '../config/config-validators.js';
import { RuleConfig } from '../policy/policy-rule.config.js';

/** Authorization request parameters actbridge sets itself; a connection file may not override them. */
export const RESERVED_AUTHORIZATION_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
];

/** Where the provider's endpoints come from. */
export class ConnectionProviderConfig {
  /**
   * The provider's issuer: where discovery looks, and the `iss` an authorization response must carry
   * when the provider sends one (RFC 9207).
   */
  @IsSecureUrl()
  issuer!: string;

  /** `oidc` (OpenID Connect Discovery), `oauth2` (RFC 8414) or `none` (endpoints given below). */
  @IsOmittable()
  @IsIn(['oidc', 'oauth2', 'none'])
  discovery: 'oidc' | 'oauth2' | 'none' = 'oidc';

  @IsOmittable()
  @IsSecureUrl()
  authorization_endpoint?: string;

  @IsOmittable()
  @IsSecureUrl()
  token_endpoint?: string;

  /** RFC 7009; without one (and none discovered), disconnecting only deletes the stored tokens. */
  @IsOmittable()
  @IsSecureUrl()
  revocation_endpoint?: string;

  /**
   * With discovery: none, that the provider's authorization responses carry `iss` (RFC 9207 §3): one
   * without it is then refused. Discovered otherwise.
   */
  @IsOmittable()
  @IsFlag()
  authorization_response_iss_parameter_supported?: boolean;
}

/** Who may start the connect flow for their users, and where the browser comes back to. */
export class ConnectFlowConfig {
  /** actbridge clients that may connect and disconnect accounts of this provider for their users. */
  @IsStringList({ notEmpty: true })
  clients!: string[];

  /** The applications' pages the browser returns to after the provider (exact match). */
  @IsUniqueList(IsSecureUrl({ each: true }), { notEmpty: true, max: 50 })
  redirect_uris!: string[];

  /**
   * Scopes requested at every connect besides those the application asks for, e.g. `openid` and
   * `offline_access` (what makes an OpenID provider issue a refresh token); never requested at exchange.
   */
  @IsOmittable()
  @IsScopeList()
  extra_scopes: string[] = [];
}

/** One rule of a connection's `rules:`; the first rule whose condition is true decides. */
export class ConnectionRuleConfig extends RuleConfig {
  /** Upstream scopes a matching caller may receive; each must be one of the connection's `scopes`. */
  @IsScopeList()
  scopes!: string[];
}

/**
 * One `connections/*.yaml` file: an upstream OAuth 2.0 / OpenID Connect provider whose tokens the
 * vault keeps for users, and who may obtain them. Like anchor files, meant to be committed and
 * reviewed; the client secret is read from an environment variable or a file at startup.
 */
export class ConnectionConfig {
  /** Default: the file name without `.yaml`. */
  @IsOmittable()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'must be 1-64 lowercase letters, digits, ".", "_" or "-"' })
  name?: string;

  /** `audience` / `resource` values naming this connection in a token exchange (e.g. https://api.github.com). */
  @IsNameList({ notEmpty: true })
  audiences!: string[];

  @IsMappingOf(() => ConnectionProviderConfig)
  provider!: ConnectionProviderConfig;

  /** actbridge's client_id at the provider. */
  @IsNonEmptyString()
  client_id!: string;

  @IsOmittable()
  @IsIn(['client_secret_basic', 'client_secret_post'])
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' = 'client_secret_basic';

  /** Name of the environment variable holding the client secret. */
  @IsSecretEnv()
  client_secret_env?: string;

  /** File holding the client secret (one line; relative to the connection file). */
  @IsSecretFile()
  client_secret_file?: string;

  /** Upstream scopes that may be requested when connecting (and so may ever be handed out). */
  @ArrayNotEmpty()
  @IsScopeList()
  scopes!: string[];

  /**
   * Extra authorization request parameters, e.g. `prompt: consent` (OIDC Core §11: what makes a
   * provider honour `offline_access`) or Google's `access_type: offline`.
   */
  @IsOmittable()
  @IsStringMap(
    'isParameterMap',
    `must map parameter names to strings, without ${RESERVED_AUTHORIZATION_PARAMS.join(', ')} (actbridge sets them)`,
    (name) => !RESERVED_AUTHORIZATION_PARAMS.includes(name),
  )
  authorization_params: Record<string, string> = {};

  /** actbridge clients that may receive this connection's tokens (the rules then decide for which callers). */
  @IsStringList({ notEmpty: true })
  clients!: string[];

  @IsMappingOf(() => ConnectFlowConfig)
  connect!: ConnectFlowConfig;

  @IsListOf(() => ConnectionRuleConfig, { notEmpty: true })
  rules!: ConnectionRuleConfig[];
}
