/**
 * A real upstream OAuth 2.0 / OpenID provider for the token vault tests: `oidc-provider` (v9) on 127.0.0.1
 * playing "GitHub" or "Google". One confidential client (actbridge), authorization code with PKCE required,
 * the development login and consent pages (any login, any password) that a test drives over HTTP like a
 * browser (test/support/browser.ts), refresh tokens for `offline_access` (with `prompt=consent`, OIDC Core §11),
 * rotated at every use (a reused one revokes the grant, as oidc-provider does), and RFC 7009 revocation.
 *
 * `stats` counts what the tests assert on: refresh grants and authorization code grants served, revocations.
 * `setTokenEndpointMode('down')` answers 503 at the token endpoint; `revokeGrantsOf(account)` ends every
 * grant of an account, as a user revoking the app at the provider would; `setTokenResponseRewrite` makes
 * the token endpoint misbehave (a widened scope, an absurd expires_in, another token_type).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadOidcProvider, withoutDevNoise } from './upstream-idp.js';

export interface UpstreamOAuthProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where the provider may send the browser back (actbridge's `<ISSUER>/vault/callback`). */
  readonly redirectUris: string[];
  /** API scopes besides openid and offline_access. */
  readonly scopes: string[];
  /** Lifetime of access tokens issued from now on, seconds (default 3600; see setAccessTokenTtl). */
  readonly accessTokenTtl?: number;
}

export interface UpstreamOAuthProvider {
  readonly issuer: string;
  readonly stats: { refreshGrants: number; codeGrants: number; refreshErrors: number; revocations: number };
  setAccessTokenTtl(seconds: number): void;
  setTokenEndpointMode(mode: 'ok' | 'down'): void;
  /** Rewrites the token endpoint's successful answers from now on; undefined restores them. */
  setTokenResponseRewrite(rewrite: TokenResponseRewrite | undefined): void;
  /** Runs `run` with the token endpoint's answers rewritten, and restores them whatever happens. */
  withTokenResponseRewrite<T>(rewrite: TokenResponseRewrite, run: () => Promise<T>): Promise<T>;
  /** Ends every grant (refresh and access tokens) of `accountId`. */
  revokeGrantsOf(accountId: string): Promise<void>;
  /** Whether `accountId` still holds a usable (not consumed, not revoked) refresh token at the provider. */
  hasRefreshToken(accountId: string): Promise<boolean>;
  /** A refresh token as the provider sees it: usable, spent by a rotation, or unknown (revoked, expired). */
  refreshTokenState(value: string): Promise<'live' | 'consumed' | 'gone'>;
  close(): Promise<void>;
}

export type TokenResponseRewrite = (body: Record<string, unknown>) => Record<string, unknown>;

interface ProviderModel {
  jti: string;
  accountId?: string;
  grantId?: string;
}

interface MemoryAdapter {
  revokeByGrantId(grantId: string): Promise<void>;
  destroy(id: string): Promise<void>;
  find(id: string): Promise<unknown>;
}

export async function startUpstreamOAuthProvider(
  options: UpstreamOAuthProviderOptions,
): Promise<UpstreamOAuthProvider> {
  const { Provider, createMemoryAdapter } = await loadOidcProvider();
  const adapterFor = createMemoryAdapter() as (model: string) => MemoryAdapter;
  let accessTokenTtl = options.accessTokenTtl ?? 3600;
  let tokenEndpoint: 'ok' | 'down' = 'ok';
  let rewrite: TokenResponseRewrite | undefined;
  const stats = { refreshGrants: 0, codeGrants: 0, refreshErrors: 0, revocations: 0 };
  /** Live refresh token ids by account (rotation replaces them). */
  const refreshTokens = new Map<string, Set<string>>();
  const grants = new Map<string, Set<string>>();

  const target: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server: Server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (pathname === '/token' && tokenEndpoint === 'down') {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Unavailable</h1>');
      return;
    }
    if (pathname === '/token/revocation') stats.revocations++;
    if (pathname === '/token' && rewrite) rewriteTokenResponse(res, rewrite);
    if (!target.handle) res.writeHead(503).end();
    else target.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = await withoutDevNoise(
    async () =>
      new Provider(issuer, {
        adapter: adapterFor,
        clients: [
          {
            client_id: options.clientId,
            client_secret: options.clientSecret,
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: options.redirectUris,
          },
        ],
        scopes: ['openid', 'offline_access', ...options.scopes],
        pkce: { required: () => true },
        rotateRefreshToken: true,
        cookies: { keys: [randomBytes(32).toString('base64url')] },
        findAccount: (_ctx: unknown, accountId: string) => ({ accountId, claims: () => ({ sub: accountId }) }),
        ttl: {
          AccessToken: () => accessTokenTtl,
          AuthorizationCode: 120,
          IdToken: 3600,
          Grant: 86400,
          Session: 86400,
          Interaction: 3600,
          RefreshToken: 86400,
        },
        features: {
          devInteractions: { enabled: true },
          revocation: {
            enabled: true,
            allowedPolicy: (_ctx: unknown, revoker: { clientId: string }, token: { clientId: string }) =>
              revoker.clientId === token.clientId,
          },
        },
      }),
  );
  provider.on('grant.success', (ctx: { oidc: { params?: { grant_type?: string } } }) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') stats.refreshGrants++;
    if (ctx.oidc.params?.grant_type === 'authorization_code') stats.codeGrants++;
  });
  provider.on('grant.error', (ctx: { oidc: { params?: { grant_type?: string } } }) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') stats.refreshErrors++;
  });
  provider.on('refresh_token.saved', (token: ProviderModel) => {
    if (token.accountId === undefined) return;
    const set = refreshTokens.get(token.accountId) ?? new Set<string>();
    set.add(token.jti);
    refreshTokens.set(token.accountId, set);
    if (token.grantId) grants.set(token.accountId, (grants.get(token.accountId) ?? new Set()).add(token.grantId));
  });
  provider.on('server_error', (_ctx: unknown, err: unknown) => {
    console.error('[upstream-oauth-provider] oidc-provider server_error:', err);
  });
  target.handle = provider.callback();

  const state = async (jti: string): Promise<'live' | 'consumed' | 'gone'> => {
    const payload = (await adapterFor('RefreshToken').find(jti)) as { consumed?: unknown } | undefined;
    return payload === undefined ? 'gone' : payload.consumed ? 'consumed' : 'live';
  };
  const alive = async (accountId: string): Promise<boolean> => {
    for (const jti of refreshTokens.get(accountId) ?? []) if ((await state(jti)) === 'live') return true;
    return false;
  };

  let closed: Promise<void> | undefined;
  return {
    issuer,
    stats,
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds;
    },
    setTokenEndpointMode(mode) {
      tokenEndpoint = mode;
    },
    setTokenResponseRewrite(given) {
      rewrite = given;
    },
    async withTokenResponseRewrite(given, run) {
      rewrite = given;
      try {
        return await run();
      } finally {
        rewrite = undefined;
      }
    },
    async revokeGrantsOf(accountId) {
      for (const grantId of grants.get(accountId) ?? []) {
        for (const model of ['RefreshToken', 'AccessToken', 'AuthorizationCode']) {
          await adapterFor(model).revokeByGrantId(grantId);
        }
        await adapterFor('Grant').destroy(grantId);
      }
    },
    hasRefreshToken: alive,
    // Opaque tokens: the value is the id the adapter stores it under.
    refreshTokenState: state,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Holds back what oidc-provider writes, and sends a successful token response rewritten. */
function rewriteTokenResponse(res: ServerResponse, rewrite: TokenResponseRewrite): void {
  const chunks: Buffer[] = [];
  const end = res.end.bind(res) as (body: string) => ServerResponse;
  res.write = ((chunk: string | Buffer) => {
    chunks.push(Buffer.from(chunk));
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: string | Buffer | (() => void)) => {
    if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    let body = Buffer.concat(chunks).toString();
    if (res.statusCode === 200) {
      const json = JSON.parse(body) as Record<string, unknown>;
      if (typeof json.access_token === 'string') body = JSON.stringify(rewrite(json));
    }
    res.setHeader('content-length', Buffer.byteLength(body));
    return end(body);
  }) as typeof res.end;
}
