/**
 * A real upstream identity provider for end-to-end tests.
 *
 * Starts `oidc-provider` (v9) on 127.0.0.1 with an ephemeral port and obtains tokens from it over real HTTP with
 * `openid-client` (v6):
 * - client_credentials + resource indicator (RFC 8707) -> RFC 9068 JWT access token (typ "at+jwt");
 * - a user's tokens without any browser: CIBA in poll mode, where the provider's `triggerAuthenticationDevice` hook
 *   approves the request on the spot (`provider.backchannelResult` with a Grant for the requested scope and
 *   resource), so the first poll already returns the JWT access token and the id_token.
 *
 * - RFC 7662 introspection (`/token/introspection`, in the discovery document) and RFC 7009 revocation; a resource
 *   declared with `format: 'opaque'` gets opaque access tokens, which only introspection can validate.
 *
 * Key rotation swaps the Provider instance behind the same `http.Server` (same port, same issuer); all Provider
 * instances of one fixture share one in-memory adapter store, so grants/tokens survive a rotation.
 *
 * `stats` counts GET requests to the discovery and JWKS endpoints made by anyone *except* this fixture itself (its own
 * openid-client traffic is tagged with an internal header and not counted), so tests can assert on how often the
 * code under test fetched them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import * as client from 'openid-client';

export interface UpstreamIdpClient {
  client_id: string;
  client_secret: string;
}

export interface UpstreamIdpOptions {
  /** Every client may use client_credentials and CIBA (poll mode), authenticating with client_secret_basic. */
  clients: UpstreamIdpClient[];
  /**
   * Resource indicator (absolute URI) -> space-separated scopes it accepts; `format` of its access tokens (default
   * 'jwt'); `ttl` of its access tokens in seconds (default 3600).
   */
  resources: Record<string, { scope: string; format?: 'jwt' | 'opaque'; ttl?: number }>;
  /** Clients allowed to introspect (others get `active: false`); default: every client. */
  introspectionClients?: string[];
  /** Extra claims put into every *access token* issued for a user account, keyed by accountId. */
  extraUserAccessTokenClaims?: Record<string, Record<string, unknown>>;
  /** Extra claims put into every *ID token* issued for a user account, keyed by accountId (released with openid). */
  extraUserIdTokenClaims?: Record<string, Record<string, unknown>>;
  /** Default RS256. */
  signingAlg?: 'RS256' | 'ES256';
}

export type JwksMode = 'ok' | 'down' | 'hang';
/** Same modes for the introspection endpoint. */
export type IntrospectionMode = JwksMode;

export interface UpstreamIdp {
  /** e.g. http://127.0.0.1:40123 (no trailing slash) */
  readonly issuer: string;
  /** jwks_uri from the discovery document */
  readonly jwksUri: string;
  /** GETs hitting the discovery / JWKS endpoints (live counters; the fixture's own requests are not counted). */
  readonly stats: { discoveryRequests: number; jwksRequests: number; introspectionRequests: number };
  /** introspection_endpoint from the discovery document */
  readonly introspectionEndpoint: string;
  /** RFC 9068 JWT access token for the client itself (sub = client_id), via client_credentials + resource. */
  clientCredentialsToken(clientId: string, opts: { resource: string; scope?: string }): Promise<string>;
  /** A user's JWT access token and id_token, via CIBA (auto-approved). */
  userTokens(
    accountId: string,
    opts: { clientId: string; resource: string; scope?: string },
  ): Promise<{ accessToken: string; idToken: string; refreshToken?: string }>;
  /** A user's ID token issued to `clientId` (scope openid alone), via CIBA. */
  idToken(accountId: string, clientId: string, resource: string): Promise<string>;
  /** RFC 7009 revocation of a token issued to `clientId`. */
  revokeToken(clientId: string, token: string): Promise<void>;
  /** 'ok' normal; 'down' answers 503 at once; 'hang' never answers. */
  setIntrospectionMode(mode: IntrospectionMode): void;
  /** New signing key (new kid) used from now on; the JWKS publishes new + all previous keys. Returns the new kid. */
  rotateSigningKey(): Promise<string>;
  currentKid(): string;
  /** 'ok' normal; 'down' answers 503 at once; 'hang' never answers (socket stays open until close()). */
  setJwksMode(mode: JwksMode): void;
  /** Sets every counter of `stats` back to 0. */
  resetStats(): void;
  /** Closes the server and every connection, including hung ones. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal typings for the parts of oidc-provider used here (the package ships no type declarations and
// @types/oidc-provider is not installed).

interface OidcGrant {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface OidcBackchannelRequest {
  accountId: string;
  clientId: string;
  scope?: string;
  resource?: string | string[];
}

interface OidcToken {
  accountId?: string;
  resourceServer?: { audience?: string };
}

interface OidcContext {
  oidc: { provider: OidcProvider };
}

interface OidcProvider {
  readonly issuer: string;
  Grant: new (props: { accountId: string; clientId: string }) => OidcGrant;
  backchannelResult(
    request: OidcBackchannelRequest,
    result: OidcGrant,
    opts?: { authTime?: number; acr?: string; amr?: string[] },
  ): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'server_error', listener: (ctx: unknown, err: unknown) => void): this;
  on(event: string, listener: (...args: never[]) => void): this;
}

interface OidcProviderModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
  };
}

interface MemoryAdapterModule {
  createMemoryAdapter(clockTolerance?: number): unknown;
}

// Non-literal specifiers: TypeScript types these dynamic imports as `any` instead of failing on the untyped package.
const OIDC_PROVIDER: string = 'oidc-provider';
const OIDC_PROVIDER_MEMORY_ADAPTER: string = 'oidc-provider/lib/adapters/memory_adapter.js';

/**
 * oidc-provider prints a few warnings about development-only setups. The only one this fixture cannot avoid through
 * configuration is printed at import time: "Unsupported runtime" on Node.js < 22 (it works on Node 20 regardless).
 * Only these exact messages are dropped, and only while the module is being loaded; everything else passes through.
 */
const DEV_NOISE = [
  /^oidc-provider WARNING: Unsupported runtime/,
  /^oidc-provider WARNING: a quick start development-only in-memory adapter is used/,
  /^oidc-provider WARNING: quick start development-only signing keys are used/,
  // upstream-oauth-provider.ts drives the development login and consent pages on purpose.
  /^oidc-provider WARNING: a quick start development-only feature devInteractions is enabled/,
];

export async function withoutDevNoise<T>(fn: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const keep = (args: unknown[]) =>
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes (ESC [ ... m) from the message
    !(typeof args[0] === 'string' && DEV_NOISE.some((re) => re.test(String(args[0]).replace(/\x1b\[[0-9;]*m/g, ''))));
  console.warn = (...args: unknown[]) => {
    if (keep(args)) warn.apply(console, args);
  };
  console.info = (...args: unknown[]) => {
    if (keep(args)) info.apply(console, args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

// Loaded once per module registry, so concurrent fixture starts never nest the console patching.
let oidcProviderModules: Promise<OidcProviderModule & MemoryAdapterModule> | undefined;
export function loadOidcProvider(): Promise<OidcProviderModule & MemoryAdapterModule> {
  oidcProviderModules ??= withoutDevNoise(async () => {
    const provider = (await import(OIDC_PROVIDER)) as OidcProviderModule;
    const memory = (await import(OIDC_PROVIDER_MEMORY_ADAPTER)) as MemoryAdapterModule;
    return { Provider: provider.Provider, errors: provider.errors, createMemoryAdapter: memory.createMemoryAdapter };
  });
  return oidcProviderModules;
}

/**
 * A failed token request of the fixture. `error` / `error_description` / `status` are copied from openid-client's
 * error (e.g. `error: 'invalid_target'` for a resource the IdP does not know); the original error is the `cause`.
 */
export class UpstreamIdpError extends Error {
  override name = 'UpstreamIdpError';
  readonly error?: string;
  readonly error_description?: string;
  readonly status?: number;

  constructor(operation: string, cause: unknown) {
    const { error, error_description, status, message } = (cause ?? {}) as Partial<
      Record<'error' | 'error_description' | 'message', string> & { status: number }
    >;
    const detail = error ? `${error}${error_description ? `: ${error_description}` : ''}` : (message ?? String(cause));
    super(`upstream-idp: ${operation} failed: ${detail}`, { cause });
    this.error = error;
    this.error_description = error_description;
    this.status = status;
  }
}

async function describeFailure<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new UpstreamIdpError(operation, err);
  }
}

/** Requests the fixture makes itself carry this header; they are not counted in `stats`. */
const INTERNAL_HEADER = 'x-upstream-idp-fixture';

const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';

const epochTime = () => Math.floor(Date.now() / 1000);

async function generateSigningKey(alg: 'RS256' | 'ES256'): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}

export async function startUpstreamIdp(opts: UpstreamIdpOptions): Promise<UpstreamIdp> {
  const { Provider, errors, createMemoryAdapter } = await loadOidcProvider();
  const alg = opts.signingAlg ?? 'RS256';
  const resources = new Map(Object.entries(opts.resources));
  const extraClaims = opts.extraUserAccessTokenClaims ?? {};
  const clients = new Map(opts.clients.map((c) => [c.client_id, c]));

  // One store for every Provider instance of this fixture (survives key rotation, isolated from other fixtures).
  const adapter = createMemoryAdapter();
  const keys: Array<JWK & { kid: string }> = [await generateSigningKey(alg)];

  let current: { provider: OidcProvider; handle: (req: IncomingMessage, res: ServerResponse) => void } | undefined;
  let jwksMode: JwksMode = 'ok';
  let jwksPath = '/jwks';
  let introspectionMode: IntrospectionMode = 'ok';
  let introspectionPath = '/token/introspection';
  const discoveryPath = '/.well-known/openid-configuration';
  const stats = { discoveryRequests: 0, jwksRequests: 0, introspectionRequests: 0 };
  const hung = new Set<ServerResponse>();
  /** Answers as an endpoint set `down` (503) or `hang` (never; close() destroys the socket); false when `ok`. */
  const failing = (mode: JwksMode, res: ServerResponse, what: string): boolean => {
    if (mode === 'down') {
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: `${what} is down` }));
      return true;
    }
    if (mode === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return true;
    }
    return false;
  };

  const server: Server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    const external = req.headers[INTERNAL_HEADER] === undefined;
    if (pathname === discoveryPath && req.method === 'GET' && external) stats.discoveryRequests++;
    if (pathname === jwksPath) {
      if (req.method === 'GET' && external) stats.jwksRequests++;
      if (failing(jwksMode, res, 'JWKS endpoint')) return;
    }
    if (pathname === introspectionPath) {
      if (external) stats.introspectionRequests++;
      if (failing(introspectionMode, res, 'introspection')) return;
    }
    if (!current) {
      res.writeHead(503).end();
      return;
    }
    current.handle(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const shutdown = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      for (const res of hung) res.destroy();
      hung.clear();
      server.closeAllConnections();
    });

  const createProvider = (): OidcProvider => {
    const kid = keys[0]!.kid;
    const provider = new Provider(issuer, {
      adapter,
      // Newest key first: oidc-provider signs id_tokens with the first key matching the algorithm; JWT access
      // tokens are additionally pinned to it by kid (getResourceServerInfo below). All keys are published.
      jwks: { keys: keys.map((k) => ({ ...k })) },
      clients: opts.clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials', CIBA_GRANT_TYPE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        backchannel_token_delivery_mode: 'poll',
        id_token_signed_response_alg: alg,
        // ID tokens say when the user authenticated (OIDC Registration §2), which actbridge carries forward.
        require_auth_time: true,
      })),
      clientDefaults: { id_token_signed_response_alg: alg },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      findAccount: (_ctx: unknown, accountId: string) => ({
        accountId,
        claims: () => ({ ...opts.extraUserIdTokenClaims?.[accountId], sub: accountId }),
      }),
      claims: {
        openid: ['sub', ...new Set(Object.values(opts.extraUserIdTokenClaims ?? {}).flatMap((c) => Object.keys(c)))],
      },
      extraTokenClaims: (_ctx: unknown, token: OidcToken) =>
        token.accountId !== undefined ? extraClaims[token.accountId] : undefined,
      // Explicit TTLs (the defaults work, but print "you SHOULD change it" notices on first use).
      ttl: {
        AccessToken: (_ctx: unknown, token: OidcToken) =>
          resources.get(token.resourceServer?.audience ?? '')?.ttl ?? 3600,
        ClientCredentials: 3600,
        IdToken: 3600,
        BackchannelAuthenticationRequest: 600,
        Grant: 3600,
        Session: 3600,
        Interaction: 3600,
        RefreshToken: 3600,
        DeviceCode: 600,
        PreAuthorizedCode: 600,
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: {
          enabled: true,
          allowedPolicy: (_ctx: unknown, introspector: { clientId: string }) =>
            opts.introspectionClients === undefined || opts.introspectionClients.includes(introspector.clientId),
        },
        revocation: {
          enabled: true,
          allowedPolicy: (_ctx: unknown, revoker: { clientId: string }, token: { clientId: string }) =>
            revoker.clientId === token.clientId,
        },
        resourceIndicators: {
          enabled: true,
          // A single requested resource is the resource; CIBA token requests reuse the granted resource even
          // though 'openid' is in scope (otherwise oidc-provider would issue an opaque userinfo-only token).
          defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => oneOf,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
            const rs = resources.get(resourceIndicator);
            if (!rs) throw new errors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
            return {
              scope: rs.scope,
              audience: resourceIndicator,
              accessTokenFormat: rs.format ?? 'jwt',
              ...((rs.format ?? 'jwt') === 'jwt' ? { jwt: { sign: { alg, kid } } } : {}),
            };
          },
        },
        ciba: {
          enabled: true,
          deliveryModes: ['poll'],
          // login_hint is the accountId.
          processLoginHint: (_ctx: unknown, loginHint: string) => loginHint,
          processLoginHintToken: () => {
            throw new errors.InvalidRequest('login_hint_token is not supported by this test IdP, use login_hint');
          },
          verifyUserCode: () => undefined,
          validateBindingMessage: () => undefined,
          validateRequestContext: () => undefined,
          // The "authentication device" approves at once: by the time the client receives auth_req_id, the request
          // already carries a grant, so the first poll returns tokens.
          triggerAuthenticationDevice: async (
            ctx: OidcContext,
            request: OidcBackchannelRequest,
            account: { accountId: string },
            cibaClient: { clientId: string },
          ) => {
            const { provider } = ctx.oidc;
            const grant = new provider.Grant({ accountId: account.accountId, clientId: cibaClient.clientId });
            const requested = splitScope(request.scope);
            const requestedResources =
              request.resource === undefined
                ? []
                : Array.isArray(request.resource)
                  ? request.resource
                  : [request.resource];
            const resourceScopes = new Set<string>();
            for (const resource of requestedResources) {
              const accepted = new Set(splitScope(resources.get(resource)?.scope));
              const granted = requested.filter((s) => accepted.has(s));
              granted.forEach((s) => resourceScopes.add(s));
              if (granted.length) grant.addResourceScope(resource, granted.join(' '));
            }
            const oidcScopes = requested.filter((s) => !resourceScopes.has(s));
            if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
            await grant.save();
            await provider.backchannelResult(request, grant, { authTime: epochTime() });
          },
        },
      },
    });
    // Real failures inside the provider must not vanish behind a generic server_error response.
    provider.on('server_error', (_ctx, err) => {
      console.error('[upstream-idp] oidc-provider server_error:', err);
    });
    return provider;
  };

  const install = (provider: OidcProvider) => {
    current = { provider, handle: provider.callback() };
  };

  // openid-client plumbing: one discovered Configuration per client, its requests tagged as internal.
  const internalFetch: client.CustomFetch = (url, options) =>
    fetch(url, { ...options, headers: { ...options.headers, [INTERNAL_HEADER]: '1' } });
  const configs = new Map<string, Promise<client.Configuration>>();
  const configFor = (clientId: string): Promise<client.Configuration> => {
    const c = clients.get(clientId);
    if (!c) throw new Error(`upstream-idp: unknown client ${clientId}`);
    let config = configs.get(clientId);
    if (!config) {
      config = client.discovery(new URL(issuer), c.client_id, undefined, client.ClientSecretBasic(c.client_secret), {
        execute: [client.allowInsecureRequests],
        [client.customFetch]: internalFetch,
      });
      configs.set(clientId, config);
      config.catch(() => configs.delete(clientId));
    }
    return config;
  };

  let jwksUri: string;
  let introspectionEndpoint: string;
  try {
    install(createProvider());
    if (!opts.clients.length) throw new Error('upstream-idp: at least one client is required');
    const metadata = (await configFor(opts.clients[0]!.client_id)).serverMetadata();
    if (!metadata.jwks_uri) throw new Error('upstream-idp: discovery document has no jwks_uri');
    if (!metadata.introspection_endpoint)
      throw new Error('upstream-idp: discovery document has no introspection_endpoint');
    jwksUri = metadata.jwks_uri;
    jwksPath = new URL(jwksUri).pathname;
    introspectionEndpoint = metadata.introspection_endpoint;
    introspectionPath = new URL(introspectionEndpoint).pathname;
  } catch (err) {
    await shutdown();
    throw err;
  }

  // Default scope: everything the resource accepts (for an unknown resource the IdP answers invalid_target).
  const resourceScope = (resource: string): string => resources.get(resource)?.scope ?? '';
  const withScope = (params: Record<string, string>, scope: string): Record<string, string> =>
    scope ? { ...params, scope } : params;

  let closed: Promise<void> | undefined;

  const idp: UpstreamIdp = {
    issuer,
    jwksUri,
    introspectionEndpoint,
    stats,

    async clientCredentialsToken(clientId, { resource, scope }) {
      return describeFailure(`client_credentials for ${clientId} (resource ${resource})`, async () => {
        const config = await configFor(clientId);
        const response = await client.clientCredentialsGrant(
          config,
          withScope({ resource }, scope ?? resourceScope(resource)),
        );
        return response.access_token;
      });
    },

    async userTokens(accountId, { clientId, resource, scope }) {
      return describeFailure(`CIBA for ${accountId} via ${clientId} (resource ${resource})`, async () => {
        const config = await configFor(clientId);
        const requestedScope = scope ?? `openid ${resourceScope(resource)}`.trim();
        const started = await client.initiateBackchannelAuthentication(config, {
          scope: requestedScope,
          login_hint: accountId,
          resource,
        });
        // Approval happened inside the request above, so poll right away instead of after the default 5 s.
        const response = await client.pollBackchannelAuthenticationGrant(
          config,
          { ...started, interval: 0 },
          { resource },
          { signal: AbortSignal.timeout(10_000) },
        );
        if (!response.id_token) throw new Error('the token response has no id_token (is "openid" in scope?)');
        return { accessToken: response.access_token, idToken: response.id_token, refreshToken: response.refresh_token };
      });
    },

    async idToken(accountId, clientId, resource) {
      return (await idp.userTokens(accountId, { clientId, resource, scope: 'openid' })).idToken;
    },

    async rotateSigningKey() {
      const key = await generateSigningKey(alg);
      keys.unshift(key);
      install(createProvider());
      return key.kid;
    },

    currentKid() {
      return keys[0]!.kid;
    },

    setJwksMode(mode) {
      jwksMode = mode;
    },

    async revokeToken(clientId, token) {
      return describeFailure(`revocation for ${clientId}`, async () => {
        await client.tokenRevocation(await configFor(clientId), token);
      });
    },

    setIntrospectionMode(mode) {
      introspectionMode = mode;
    },

    resetStats() {
      stats.discoveryRequests = 0;
      stats.jwksRequests = 0;
      stats.introspectionRequests = 0;
    },

    close() {
      closed ??= shutdown();
      return closed;
    },
  };
  return idp;
}
