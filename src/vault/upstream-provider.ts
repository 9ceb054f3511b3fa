import * as oidc from 'openid-client';
import { cappedFetch } from '../common/capped-body.js';
import { rootCause } from '../trust-anchors/fetch-failure.js';
import type { LoadedConnection } from './vault-config.js';

/**
 * The longest access-token lifetime the vault believes, seconds (10 years). A longer `expires_in`
 * (`1e300`) is no lifetime but a provider's error, and past what PostgreSQL's timestamptz holds.
 */
export const MAX_EXPIRES_IN = 10 * 365 * 86_400;

/**
 * Largest answer read from a provider (its discovery document, token, revocation answer; real ones are
 * a few KiB): openid-client reads whole bodies, so a broken or hostile provider could make actbridge
 * buffer and parse an unbounded one.
 */
export const MAX_PROVIDER_ANSWER_BYTES = 256 * 1024;

/** What a successful answer of the provider's token endpoint carries, whether or not the vault can use it. */
interface TokenAnswer {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly refreshToken?: string;
  /** The granted scope, when the provider says (RFC 6749 §5.1). */
  readonly scope?: readonly string[];
}

/** What the provider's token endpoint answered, reduced to what the vault keeps. */
export interface UpstreamTokenResponse extends TokenAnswer {
  /** Epoch seconds; null when the provider gave no `expires_in`. */
  readonly expiresAt: number | null;
  readonly unusable?: undefined;
}

/**
 * An answer whose access token the vault must neither store nor serve: an unexpected answer. Its
 * refresh token, when it has one, is still the provider's newest (a rotated one replaces the old).
 */
export interface UnusableTokenResponse extends TokenAnswer {
  readonly unusable: {
    /** For the caller: what is wrong with the token (no token in it). */
    readonly reason: string;
    /** For operators: the provider's value. */
    readonly detail: string;
  };
}

export type UpstreamAnswer = UpstreamTokenResponse | UnusableTokenResponse;

/**
 * A call to the provider failed. `rejected`: it answered `invalid_grant` (RFC 6749 §5.2: the code or
 * refresh token is invalid, expired or revoked); `unavailable`: anything else (unreachable, timeout,
 * 5xx, an unexpected answer). `detail` is for operators: it never holds a token.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly kind: 'rejected' | 'unavailable',
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

/**
 * One connection's provider, through openid-client: discovery (or the configured endpoints),
 * authorization code + PKCE with its state, nonce and RFC 9207 issuer checks, refresh, revocation.
 */
export class UpstreamProvider {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly connection: LoadedConnection,
    private readonly timeoutMs: number,
  ) {}

  /** The scopes the connection names: a comma inside one of them is no separator (grantedScopes). */
  private get knownScopes(): readonly string[] {
    const { scopes, connect } = this.connection.config;
    return [...scopes, ...connect.extra_scopes];
  }

  /** actbridge's client secret at the provider: sent with every token and revocation request, so scrubbed like them. */
  private get secret(): string {
    return this.connection.clientSecret.reveal();
  }

  get usesOpenId(): boolean {
    return this.connection.config.provider.discovery === 'oidc';
  }

  /** RFC 9207 §3: the provider's metadata says its authorization responses carry `iss`. */
  async sendsIssuer(): Promise<boolean> {
    return (await this.config()).serverMetadata().authorization_response_iss_parameter_supported === true;
  }

  async authorizationUrl(parameters: Record<string, string>): Promise<URL> {
    return oidc.buildAuthorizationUrl(await this.config(), {
      ...this.connection.config.authorization_params,
      ...parameters,
    });
  }

  /** Redeems the authorization response at `callbackUrl` (state, iss, PKCE and, for OpenID, nonce checked). */
  async redeemCode(
    callbackUrl: URL,
    checks: { state: string; codeVerifier: string; nonce?: string },
  ): Promise<UpstreamAnswer> {
    const config = await this.config();
    try {
      const response = await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state,
        pkceCodeVerifier: checks.codeVerifier,
        ...(checks.nonce === undefined ? {} : { expectedNonce: checks.nonce }),
      });
      return reduce(response, this.knownScopes);
    } catch (error) {
      const unusable = unusableAnswer(error, this.knownScopes);
      if (unusable) return unusable;
      // A response that fails a check (state, iss, nonce, id_token) is refused, not retried.
      const code = callbackUrl.searchParams.get('code') ?? '';
      const failure = classify('authorization code redemption', error, [code, checks.codeVerifier, this.secret]);
      throw failure.kind === 'unavailable' && !outage(error)
        ? new UpstreamError('rejected', failure.detail, { cause: error })
        : failure;
    }
  }

  async refresh(refreshToken: string): Promise<UpstreamAnswer> {
    const config = await this.config();
    try {
      return reduce(await oidc.refreshTokenGrant(config, refreshToken), this.knownScopes);
    } catch (error) {
      const unusable = unusableAnswer(error, this.knownScopes);
      if (unusable) return unusable;
      throw classify('refresh', error, [refreshToken, this.secret]);
    }
  }

  /** RFC 7009; false when the provider has no revocation endpoint. */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const config = await this.config();
    if (!config.serverMetadata().revocation_endpoint) return false;
    try {
      await oidc.tokenRevocation(config, token, { token_type_hint: hint });
      return true;
    } catch (error) {
      throw classify('revocation', error, [token, this.secret]);
    }
  }

  /**
   * Ends a grant the vault drops: its refresh token, else its access token (RFC 7009 §2.1: revoking the
   * refresh token also ends the access tokens of its grant); false when the provider cannot revoke.
   */
  async revokeGrant(tokens: { readonly access_token: string; readonly refresh_token?: string }): Promise<boolean> {
    return tokens.refresh_token === undefined
      ? this.revoke(tokens.access_token, 'access_token')
      : this.revoke(tokens.refresh_token, 'refresh_token');
  }

  /** Discovered once; a failed discovery is tried again by the next request. */
  private config(): Promise<oidc.Configuration> {
    this.configuration ??= this.build().catch((error: unknown) => {
      this.configuration = undefined;
      throw error;
    });
    return this.configuration;
  }

  private async build(): Promise<oidc.Configuration> {
    const { config, clientSecret } = this.connection;
    const { provider } = config;
    const auth =
      config.token_endpoint_auth_method === 'client_secret_post'
        ? oidc.ClientSecretPost(clientSecret.reveal())
        : oidc.ClientSecretBasic(clientSecret.reveal());
    const issuer = new URL(provider.issuer);
    // The URLs passed isSecureUrl at startup: plain http only ever means a loopback host.
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    const capped = cappedFetch(MAX_PROVIDER_ANSWER_BYTES, this.timeoutMs, 'provider answer');
    const customFetch: oidc.CustomFetch = (url, options) => capped(url, options as RequestInit);
    let configuration: oidc.Configuration;
    if (provider.discovery === 'none') {
      configuration = new oidc.Configuration(
        {
          issuer: provider.issuer,
          authorization_endpoint: provider.authorization_endpoint!,
          token_endpoint: provider.token_endpoint!,
          ...(provider.revocation_endpoint === undefined ? {} : { revocation_endpoint: provider.revocation_endpoint }),
          // openid-client then also refuses a response without `iss` at redemption (RFC 9207 §2.4).
          authorization_response_iss_parameter_supported:
            provider.authorization_response_iss_parameter_supported === true,
        },
        config.client_id,
        undefined,
        auth,
      );
      for (const step of execute) step(configuration);
    } else {
      try {
        configuration = await oidc.discovery(issuer, config.client_id, undefined, auth, {
          algorithm: provider.discovery,
          timeout: this.timeoutSeconds,
          execute,
          [oidc.customFetch]: customFetch,
        });
      } catch (error) {
        throw new UpstreamError('unavailable', `discovery of ${provider.issuer} failed: ${rootCause(error)}`, {
          cause: error,
        });
      }
    }
    configuration.timeout = this.timeoutSeconds;
    configuration[oidc.customFetch] = customFetch;
    return configuration;
  }

  private get timeoutSeconds(): number {
    return Math.max(1, Math.ceil(this.timeoutMs / 1000));
  }
}

function reduce(response: oidc.TokenEndpointResponse, knownScopes: readonly string[]): UpstreamAnswer {
  const answer: TokenAnswer = {
    accessToken: response.access_token,
    tokenType: response.token_type,
    ...(response.refresh_token === undefined ? {} : { refreshToken: response.refresh_token }),
    ...(typeof response.scope === 'string' ? { scope: grantedScopes(response.scope, knownScopes) } : {}),
  };
  // docs/token-vault.md: callers get a Bearer token, as token_type says; a DPoP-bound one (RFC 9449)
  // is bound to a key the vault does not hold, at connect and at refresh alike.
  if (response.token_type.toLowerCase() !== 'bearer') {
    const detail = `token_type ${response.token_type.slice(0, 40)}`;
    return { ...answer, unusable: { reason: 'not a Bearer token', detail } };
  }
  // RFC 6749 §5.1: seconds from the response, which has just arrived (oauth4webapi checked it is a
  // finite number ≥ 0). The helper `expiresIn()` would count down from the time it was read.
  const expiresIn = response.expires_in;
  if (expiresIn === undefined) return { ...answer, expiresAt: null };
  // A lifetime beyond MAX_EXPIRES_IN is not believed: the token's true expiry is unknown.
  if (!(Number.isFinite(expiresIn) && expiresIn >= 0 && expiresIn <= MAX_EXPIRES_IN)) {
    const detail = `expires_in ${String(expiresIn).slice(0, 40)} is out of range (at most ${MAX_EXPIRES_IN} seconds)`;
    return { ...answer, unusable: { reason: 'its expires_in is out of range', detail } };
  }
  return { ...answer, expiresAt: Math.floor(Date.now() / 1000 + expiresIn) };
}

/**
 * A token answer oauth4webapi refuses before reduce() sees it, for what reduce() reads as an unusable
 * token: a token_type other than Bearer and DPoP (MAC, RFC 8693's N_A), an expires_in that is negative
 * or no number ("Infinity"). It is the provider's answer all the same, and its refresh token the newest
 * (RFC 6749 §6: a rotating provider has spent the old one), so it is read as unusable, not as an outage
 * that loses that token.
 */
function unusableAnswer(error: unknown, knownScopes: readonly string[]): UpstreamAnswer | undefined {
  const body = answerBody(error);
  if (body === undefined) return undefined;
  const { access_token, token_type, expires_in, refresh_token, scope } = body;
  if (typeof access_token !== 'string' || access_token === '' || typeof token_type !== 'string') return undefined;
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) return undefined;
  if (scope !== undefined && typeof scope !== 'string') return undefined;
  // As oauth4webapi reads it: a number, or a numeric string.
  const expiresIn =
    expires_in === undefined ? undefined : typeof expires_in === 'number' ? expires_in : parseFloat(String(expires_in));
  const outOfRange = expiresIn !== undefined && !(Number.isFinite(expiresIn) && expiresIn >= 0);
  if (['bearer', 'dpop'].includes(token_type.toLowerCase()) && !outOfRange) return undefined;
  const answer = { access_token, token_type: token_type.toLowerCase(), expires_in: expiresIn, refresh_token, scope };
  return reduce(answer as oidc.TokenEndpointResponse, knownScopes);
}

/** The token endpoint's JSON body that openid-client refused, kept as (a cause of) its error's cause. */
function answerBody(error: unknown): Record<string, unknown> | undefined {
  let current = error as { cause?: unknown; body?: unknown } | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const body = current.body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
    current = current.cause as typeof current;
  }
  return undefined;
}

/**
 * RFC 6749 §3.3 separates scope-tokens by spaces, but GitHub's token endpoint joins them with commas
 * (`repo,read:user`): read as one scope, every grant of two or more would be refused as beyond the
 * connection. A comma-joined value is split unless it is itself one of the connection's scopes.
 */
function grantedScopes(scope: string, knownScopes: readonly string[]): string[] {
  return scope
    .split(' ')
    .flatMap((s) => (s.includes(',') && !knownScopes.includes(s) ? s.split(',') : [s]))
    .filter(Boolean);
}

/** The provider could not be asked or did not answer properly: worth retrying later. */
function outage(error: unknown): boolean {
  if (errorInOkBody(error)) return false;
  if (error instanceof oidc.ResponseBodyError) {
    return error.status >= 500 || ['temporarily_unavailable', 'server_error'].includes(error.error);
  }
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && code.startsWith('OAUTH_')) || /NOT_CONFORM|NOT_JSON/.test(code);
}

/**
 * RFC 6749 §5.2 invalid_grant: the grant is dead. GitHub answers token errors with HTTP 200 and codes
 * of its own for the same thing.
 */
const GRANT_REFUSED = new Set(['invalid_grant', 'bad_refresh_token', 'bad_verification_code']);

/** `secrets`: what was sent, scrubbed from the detail should the provider echo it back. */
function classify(operation: string, error: unknown, secrets: readonly string[]): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const scrub = (text: string) =>
    secrets.reduce((out, secret) => (secret ? out.replaceAll(secret, '[redacted]') : out), text);
  const answered =
    error instanceof oidc.ResponseBodyError
      ? { status: error.status, error: error.error, description: error.error_description }
      : errorInOkBody(error);
  if (answered) {
    // Scrubbed before it is cut: a secret cut in two would no longer match, and its first part would stay.
    const described = answered.description ? scrub(String(answered.description)).slice(0, 200) : '';
    const said = `${scrub(answered.error)}${described ? `: ${described}` : ''}`;
    return new UpstreamError(
      GRANT_REFUSED.has(answered.error) ? 'rejected' : 'unavailable',
      scrub(`${operation}: the provider answered ${answered.status} ${said.slice(0, 300)}`),
      { cause: error },
    );
  }
  return new UpstreamError('unavailable', scrub(`${operation}: ${rootCause(error)}`), { cause: error });
}

/** An `error` member in a 200 response (openid-client keeps the body as the cause of its refusal). */
function errorInOkBody(error: unknown): { status: number; error: string; description?: unknown } | undefined {
  let current = error as { cause?: unknown; body?: unknown } | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const body = current.body as { error?: unknown; error_description?: unknown } | undefined;
    if (typeof body?.error === 'string') {
      return { status: 200, error: body.error.slice(0, 64), description: body.error_description };
    }
    current = current.cause as typeof current;
  }
  return undefined;
}
