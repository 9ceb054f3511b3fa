import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ClientConfig } from '../clients/client.config.js';
import type { ServerConfig } from '../config/server-config.js';
import { SecretValue } from '../trust-anchors/secret-value.js';
import { ConnectFlow } from './connect-flow.js';
import type { ConnectionConfig } from './connection.config.js';
import { compileConnectionPolicy } from './connection-policy.js';
import { sealJson } from './envelope.js';
import { KeyRing } from './key-ring.js';
import { MemoryVaultStore } from './memory-vault-store.js';
import type { LoadedConnection } from './vault-config.js';
import { VaultConnections } from './vault-connections.js';
import { grantBinding, nowSeconds, type GrantKey } from './vault-store.js';

/** Unit: the connect flow's disconnection, against the memory store and a real RFC 7009 endpoint. */

let server: Server;
let base: string;
let revoked: string[];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      revoked.push(new URLSearchParams(body).get('token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const IDP = 'https://idp.example';
const key: GrantKey = { connection: 'github', user: { sub: 'alice', iss: IDP } };
const client = { client_id: 'web-app' } as ClientConfig;
const settings = { issuer: 'https://sts.example', vaultConnectTtl: 600, upstreamTimeoutMs: 1000 } as ServerConfig;

let store: MemoryVaultStore;
let ring: KeyRing;
let connections: VaultConnections;
let warnings: jest.SpiedFunction<Logger['warn']>;

beforeEach(() => {
  revoked = [];
  warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const connection: LoadedConnection = {
    name: 'github',
    file: 'github.yaml',
    config: {
      audiences: ['https://api.github.com'],
      client_id: 'actbridge',
      clients: ['agent'],
      scopes: ['repo'],
      token_endpoint_auth_method: 'client_secret_basic',
      authorization_params: {},
      provider: {
        issuer: base,
        discovery: 'none',
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        revocation_endpoint: `${base}/revoke`,
      },
      connect: { clients: ['web-app'], redirect_uris: ['https://app.example/back'], extra_scopes: [] },
    } as unknown as ConnectionConfig,
    clientSecret: new SecretValue('s3cret'),
    policy: compileConnectionPolicy([{ name: 'all', condition: 'true', scopes: ['repo'] }], ['repo']).policy,
  };
  connections = new VaultConnections(settings, { connections: [connection], keys: undefined });
  store = new MemoryVaultStore();
  ring = KeyRing.ephemeral();
});

afterEach(() => {
  jest.restoreAllMocks();
});

async function connect(): Promise<void> {
  const tokens = { access_token: 'at-1', token_type: 'Bearer', refresh_token: 'rt-1', scopes: ['repo'] };
  const sealed = sealJson(ring, tokens, grantBinding(key));
  await store.save(key, { kind: 'tokens', sealed, scopes: ['repo'], expiresAt: nowSeconds() + 3600 });
}

function disconnect(flow: ConnectFlow) {
  return flow.disconnect({ client, user: key.user, audit: { client_authenticated: true } }, 'github');
}

describe('ConnectFlow.disconnect', () => {
  it('deletes the grant and revokes its refresh token at the provider (RFC 7009)', async () => {
    await connect();
    const flow = new ConnectFlow(settings, connections, store, ring);
    expect(await disconnect(flow)).toEqual({ connection: 'github', disconnected: true, upstream_revoked: true });
    expect(revoked).toEqual(['rt-1']);
    expect(await store.read(key)).toBeUndefined();
  });

  it('says the grant is disconnected, not that the vault is unavailable, when its tokens cannot be opened to revoke them', async () => {
    await connect();
    // The grant's key-encryption key left VAULT_KEYS: the grant is deleted all the same.
    const flow = new ConnectFlow(settings, connections, store, KeyRing.ephemeral());
    const audit = { client_authenticated: true };
    expect(await flow.disconnect({ client, user: key.user, audit }, 'github')).toEqual({
      connection: 'github',
      disconnected: true,
      upstream_revoked: false,
    });
    expect(audit).toMatchObject({ connection: 'github', upstream_revoked: false });
    expect(revoked).toEqual([]);
    expect(await store.read(key)).toBeUndefined();
    expect(warnings).toHaveBeenCalledWith(
      expect.stringMatching(
        /^github: the disconnected grant's tokens cannot be opened to revoke them: key-encryption key "ephemeral-\w+" is not in VAULT_KEYS$/,
      ),
    );
  });
});

describe('ConnectFlow.callback', () => {
  async function started(flow: ConnectFlow): Promise<string> {
    const caller = { client, user: key.user, audit: { client_authenticated: true } };
    const { authorization_url } = await flow.start(caller, { connection: 'github' });
    return new URL(authorization_url).searchParams.get('state')!;
  }

  it('refuses an authorization response naming another issuer, an error response too, and keeps the flow (RFC 9207 §2.4)', async () => {
    const flow = new ConnectFlow(settings, connections, store, ring);
    const state = await started(flow);
    for (const answer of ['error=access_denied', 'code=c-1']) {
      const audit = { client_authenticated: false };
      const query = `${answer}&state=${state}&iss=${encodeURIComponent('https://mix-up.example')}`;
      await expect(flow.callback(query, audit)).rejects.toMatchObject({
        status: 400,
        error: 'invalid_request',
        description: 'the authorization response names another issuer',
        detail: `iss "https://mix-up.example" is not ${base}`,
      });
      expect(audit).toMatchObject({ client_id: 'web-app', connection: 'github' });
    }
    // The provider's own answer still finds its flow (its issuer compared as a URL: a trailing slash aside).
    const audit = { client_authenticated: false };
    expect(
      await flow.callback(`error=access_denied&state=${state}&iss=${encodeURIComponent(`${base}/`)}`, audit),
    ).toEqual({
      location: 'https://app.example/back?connection=github&error=access_denied',
      refused: 'access_denied',
    });
  });
});
