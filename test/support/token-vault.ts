import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { generateVaultKey } from '../../src/vault/key-ring.js';
import { TestBrowser } from './browser.js';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { postToken, startTestApp, TT, type TestApp } from './test-app.js';
import { startUpstreamIdp, type UpstreamIdp } from './upstream-idp.js';
import { startUpstreamOAuthProvider, type UpstreamOAuthProvider } from './upstream-oauth-provider.js';

/**
 * The token vault's world for end-to-end tests, every peer real:
 * - the users' identity provider ("corp", oidc-provider through CIBA): users' access tokens, agents'
 *   client-credentials tokens (actor tokens);
 * - "GitHub" and "Google" (oidc-provider with authorization code + PKCE, login and consent pages, rotating
 *   refresh tokens): the providers whose tokens the vault keeps;
 * - one or two actbridge instances behind one issuer, sharing a PostgreSQL database of their own (or the
 *   in-memory store when `database: false`), the same signing key and the same key-encryption key.
 */

export const GITHUB_API = 'https://api.github.com';
export const GOOGLE_API = 'https://www.googleapis.com';
export const APP_REDIRECT = 'https://app.example/connected';
export const USER_APP: [string, string] = ['user-app', 'user-app-secret-0123456789'];
export const agent = (name: string): [string, string] => [name, `${name}-secret-0123456789`];

export interface VaultWorld {
  readonly issuer: string;
  readonly corp: UpstreamIdp;
  readonly github: UpstreamOAuthProvider;
  readonly google: UpstreamOAuthProvider;
  readonly instances: TestApp[];
  readonly db: TestDatabase | undefined;
  /** The key-encryption key every instance starts with (VAULT_KEYS). */
  readonly kek: Record<string, string>;
  readonly dir: string;
  /** Environment every instance shares (for starting one more). */
  readonly env: Record<string, string>;
  readonly connections: Record<string, Record<string, unknown>>;
  readonly clients: Array<Record<string, unknown>>;
  readonly anchors: Record<string, Record<string, unknown>>;
  /** A user's access token from the corp IdP (accepted by actbridge for any client). */
  userToken(user: string): Promise<string>;
  /** An agent's own token from the corp IdP (an actor token). */
  agentToken(name: string): Promise<string>;
  /** The whole connect flow: the app starts it, the browser logs in as `account` and consents, the app completes. */
  connect(
    user: string,
    account: string,
    options?: { connection?: string; via?: TestApp; identity?: { subject_token: string; subject_token_type: string } },
  ): Promise<ConnectResult>;
  /** A token exchange naming a connection, by `client` for `subject`. */
  exchange(via: TestApp, client: [string, string], form: Record<string, string | undefined>): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface ConnectResult {
  readonly started: HttpResult;
  /** Where the browser was sent back to (the app's redirect_uri with connect_code). */
  readonly returnedTo: URL;
  readonly completed: HttpResult;
  readonly browser: TestBrowser;
}

export async function startVaultWorld(options: {
  instances: 1 | 2;
  database: boolean;
  /** Settings besides the world's own (e.g. a short TOKEN_TTL). */
  env?: Record<string, string>;
}): Promise<VaultWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-vault-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const callback = `${issuer}/vault/callback`;
  const corp = await startUpstreamIdp({
    clients: ['user-app', 'agent-1', 'agent-2', 'agent-3'].map((id) => ({
      client_id: id,
      client_secret: `${id}-corp`,
    })),
    resources: { [issuer]: { scope: 'read' } },
  });
  const github = await startUpstreamOAuthProvider({
    clientId: 'actbridge-github',
    clientSecret: 'github-client-secret',
    redirectUris: [callback],
    scopes: ['repo', 'read:user'],
  });
  const google = await startUpstreamOAuthProvider({
    clientId: 'actbridge-google',
    clientSecret: 'google-client-secret',
    redirectUris: [callback],
    scopes: ['drive.readonly'],
  });
  const db = options.database ? await createTestDatabase() : undefined;
  const kek = generateVaultKey('kek-1');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'signing-key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'sts-1' }));

  const connect = { clients: ['user-app'], redirect_uris: [APP_REDIRECT], extra_scopes: ['openid', 'offline_access'] };
  const connections = {
    // Like GitHub: no discovery, endpoints given.
    github: {
      audiences: [GITHUB_API],
      provider: {
        issuer: github.issuer,
        discovery: 'none',
        authorization_endpoint: `${github.issuer}/auth`,
        token_endpoint: `${github.issuer}/token`,
        revocation_endpoint: `${github.issuer}/token/revocation`,
        // oidc-provider sends iss in its authorization responses (RFC 9207).
        authorization_response_iss_parameter_supported: true,
      },
      client_id: 'actbridge-github',
      client_secret_env: 'GITHUB_CLIENT_SECRET',
      scopes: ['repo', 'read:user'],
      // OIDC Core §11: offline_access is honoured with prompt=consent.
      authorization_params: { prompt: 'consent' },
      clients: ['agent-1', 'agent-2'],
      connect,
      rules: [
        {
          name: 'agent-1-for-its-user',
          condition: 'client_id == "agent-1" && size(actors) > 0 && actors[0].sub == "agent-1"',
          scopes: ['repo', 'read:user'],
        },
        { name: 'agent-2-profile', condition: 'client_id == "agent-2"', scopes: ['read:user'] },
      ],
    },
    // Like Google: OpenID Connect discovery.
    google: {
      audiences: [GOOGLE_API],
      provider: { issuer: google.issuer },
      client_id: 'actbridge-google',
      client_secret_env: 'GOOGLE_CLIENT_SECRET',
      scopes: ['drive.readonly'],
      authorization_params: { prompt: 'consent' },
      clients: ['agent-1'],
      connect,
      rules: [{ name: 'agents', condition: 'actors.exists(a, a.sub == "agent-1")', scopes: ['drive.readonly'] }],
    },
  };
  const clients = [
    {
      client_id: 'user-app',
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: USER_APP[1],
      audiences: ['agent-1', 'agent-2', 'user-app'],
      scopes: ['read'],
    },
    ...['agent-1', 'agent-2', 'agent-3'].map((id) => ({
      client_id: id,
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: agent(id)[1],
      audiences: [],
    })),
  ];
  const anchors = { corp: { issuer: corp.issuer, audiences: [issuer] } };
  const env: Record<string, string> = {
    ISSUER: issuer,
    SIGNING_KEYS: join(dir, 'signing-key.json'),
    VAULT_KEYS: JSON.stringify(kek),
    GITHUB_CLIENT_SECRET: 'github-client-secret',
    GOOGLE_CLIENT_SECRET: 'google-client-secret',
    ...(db ? { DATABASE_URL: db.url } : {}),
    ...options.env,
  };
  if (!db) delete env.VAULT_KEYS;
  // Started together on a fresh database: their migrations meet on the advisory lock.
  const instances = await Promise.all(
    Array.from({ length: options.instances }, (_, i) =>
      startTestApp({ port: i === 0 ? port : undefined, anchors, clients, connections, env }),
    ),
  );
  const first = instances[0]!;

  const form = (via: TestApp, path: string, fields: Record<string, string | undefined>, basic: [string, string]) =>
    postToken({ tokenEndpoint: `${via.baseUrl}${path}` }, fields, { basic });

  const world: VaultWorld = {
    issuer,
    corp,
    github,
    google,
    instances,
    db,
    kek,
    dir,
    env,
    connections,
    clients,
    anchors,
    async userToken(user) {
      return (await corp.userTokens(user, { clientId: 'user-app', resource: issuer, scope: 'openid read' }))
        .accessToken;
    },
    agentToken(name) {
      return corp.clientCredentialsToken(name, { resource: issuer });
    },
    async connect(user, account, { connection = 'github', via = first, identity: given } = {}) {
      const identity = given ?? { subject_token: await world.userToken(user), subject_token_type: TT.accessToken };
      const started = await form(
        via,
        '/vault/connect',
        { ...identity, connection, redirect_uri: APP_REDIRECT },
        USER_APP,
      );
      if (started.status !== 200) throw new Error(`connect refused: ${JSON.stringify(started.body)}`);
      const browser = new TestBrowser();
      const stopAt = (url: URL) => url.href.startsWith(APP_REDIRECT);
      let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
      page = await browser.submit(page, { login: account, password: 'any password' }, { stopAt });
      page = await browser.submit(page, {}, { stopAt }); // consent
      if (!stopAt(page.url))
        throw new Error(`the browser did not come back to the app: ${page.url.href} ${page.html.slice(0, 300)}`);
      const code = page.url.searchParams.get('connect_code') ?? undefined;
      const completed = await form(via, '/vault/connect/complete', { ...identity, connect_code: code }, USER_APP);
      return { started, returnedTo: page.url, completed, browser };
    },
    exchange(via, client, fields) {
      return postToken(
        via,
        { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', ...fields },
        { basic: client },
      );
    },
    async close() {
      for (const instance of instances) await instance.close();
      await db?.drop();
      await Promise.all([corp.close(), github.close(), google.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Posts a form to a vault endpoint of `via` as `client`. */
export function postVault(
  via: TestApp,
  path: string,
  fields: Record<string, string | undefined>,
  client: [string, string] = USER_APP,
): Promise<HttpResult> {
  return postToken({ tokenEndpoint: `${via.baseUrl}${path}` }, fields, { basic: client });
}
