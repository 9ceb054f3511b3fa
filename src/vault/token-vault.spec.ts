import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import type { ServerConfig } from '../config/server-config.js';
import { OAuthError } from '../oauth/oauth-error.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { SecretValue } from '../trust-anchors/secret-value.js';
import type { ConnectionConfig } from './connection.config.js';
import { compileConnectionPolicy } from './connection-policy.js';
import { openJson, sealJson } from './envelope.js';
import { KeyRing } from './key-ring.js';
import { MemoryVaultStore } from './memory-vault-store.js';
import { TokenVault } from './token-vault.js';
import {
  UpstreamError,
  type UpstreamAnswer,
  type UpstreamProvider,
  type UpstreamTokenResponse,
} from './upstream-provider.js';
import type { LoadedConnection } from './vault-config.js';
import { VaultConnections } from './vault-connections.js';
import { grantBinding, type GrantKey, type UpstreamTokens } from './vault-store.js';

/** Unit: the refresh decisions, against the memory store and a stub provider (the e2e specs use real ones). */

const API = 'https://api.github.com';
const IDP = 'https://idp.example';
const T0 = 1_900_000_000_000;

const connection: LoadedConnection = {
  name: 'github',
  file: 'github.yaml',
  config: {
    audiences: [API],
    clients: ['agent'],
    scopes: ['repo'],
    connect: { extra_scopes: ['offline_access'] },
  } as ConnectionConfig,
  clientSecret: new SecretValue('x'),
  policy: compileConnectionPolicy([{ name: 'all', condition: 'true', scopes: ['repo'] }], ['repo']).policy,
};
const server = {
  issuer: 'https://sts.example',
  maxChainDepth: 5,
  vaultRefreshMargin: 60,
  upstreamTimeoutMs: 1000,
} as ServerConfig;
const vaultConfig = { connections: [connection], keys: undefined };
const key: GrantKey = { connection: 'github', user: { sub: 'alice', iss: IDP } };
const subject = {
  tokenType: 'urn:ietf:params:oauth:token-type:access_token',
  principal: key.user,
  anchor: { name: 'idp', issuer: IDP, trustedForChains: false, self: false },
  claims: { sub: 'alice', iss: IDP },
  scope: undefined,
  expiresAt: 0,
  act: undefined,
  mayAct: undefined,
} as ValidatedToken;

let store: MemoryVaultStore;
let ring: KeyRing;
let refresh: jest.Mock<(token: string) => Promise<UpstreamAnswer>>;
let revokeGrant: jest.Mock<(tokens: UpstreamTokens) => Promise<boolean>>;
let vault: TokenVault;
let now: number;
let warnings: jest.SpiedFunction<Logger['warn']>;

beforeEach(() => {
  now = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  store = new MemoryVaultStore();
  ring = KeyRing.ephemeral();
  refresh = jest.fn();
  revokeGrant = jest.fn(async () => true);
  const connections = new VaultConnections(server, vaultConfig);
  jest.spyOn(connections, 'provider').mockReturnValue({ refresh, revokeGrant } as unknown as UpstreamProvider);
  vault = new TokenVault(server, connections, store, ring);
});

afterEach(() => {
  jest.restoreAllMocks();
});

const seconds = () => Math.floor(now / 1000);

async function connect(
  lifetime: number | null,
  tokens: Partial<UpstreamTokens> = {},
  scopes: string[] = ['repo'],
): Promise<void> {
  const sealed = sealJson(
    ring,
    { access_token: 'at-1', token_type: 'Bearer', refresh_token: 'rt-1', ...tokens },
    grantBinding(key),
  );
  await store.save(key, {
    kind: 'tokens',
    sealed,
    scopes,
    expiresAt: lifetime === null ? null : seconds() + lifetime,
  });
}

function exchange() {
  const request = { audience: [], resource: [API], requestedScope: undefined };
  const audit: AuditRecord = { client_authenticated: true };
  return vault.exchange({ request, client: { client_id: 'agent' } as ClientConfig, subject, audit });
}

async function refusal(): Promise<OAuthError> {
  try {
    await exchange();
  } catch (error) {
    return error as OAuthError;
  }
  throw new Error('expected a refusal');
}

const renewed = (lifetime: number, refreshToken?: string): UpstreamTokenResponse => ({
  accessToken: 'at-2',
  tokenType: 'bearer',
  expiresAt: seconds() + lifetime,
  ...(refreshToken ? { refreshToken } : {}),
});

describe('TokenVault refresh decisions', () => {
  it('serves a token with more than VAULT_REFRESH_MARGIN left as it is', async () => {
    await connect(3600);
    now += 1000 * 1000;
    expect(await exchange()).toMatchObject({ access_token: 'at-1', expires_in: 2600, token_type: 'Bearer' });
    expect(refresh).not.toHaveBeenCalled();
  });

  it('does not refresh a token shorter-lived than the margin at every request: only past half its lifetime', async () => {
    await connect(30);
    now += 14_000;
    expect(await exchange()).toMatchObject({ access_token: 'at-1', expires_in: 16 });
    now += 2_000;
    refresh.mockResolvedValue(renewed(30));
    expect(await exchange()).toMatchObject({ access_token: 'at-2', expires_in: 30 });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('stores a rotated refresh token with the new access token, and keeps the old one when none is issued', async () => {
    await connect(10);
    now += 20_000;
    refresh.mockResolvedValueOnce(renewed(10, 'rt-2'));
    await exchange();
    const record = await store.read(key);
    expect(openJson(ring, record!.sealed!, grantBinding(key))).toEqual({
      access_token: 'at-2',
      token_type: 'Bearer',
      refresh_token: 'rt-2',
      scopes: ['repo'],
    });
    now += 20_000;
    refresh.mockResolvedValueOnce(renewed(10));
    await exchange();
    expect(refresh).toHaveBeenLastCalledWith('rt-2');
    expect(openJson(ring, (await store.read(key))!.sealed!, grantBinding(key))).toMatchObject({
      refresh_token: 'rt-2',
    });
  });

  it('shares one refresh among concurrent exchanges of one instance', async () => {
    await connect(10);
    now += 20_000;
    refresh.mockImplementation(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return renewed(3600, 'rt-2');
    });
    const results = await Promise.all(Array.from({ length: 10 }, () => exchange()));
    expect(new Set(results.map((r) => r.access_token))).toEqual(new Set(['at-2']));
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('serves the current token while the provider is down and it is still valid; refuses with 503 once expired', async () => {
    await connect(10);
    refresh.mockRejectedValue(new UpstreamError('unavailable', 'refresh: unreachable (ECONNREFUSED)'));
    now += 8_000;
    expect(await exchange()).toMatchObject({ access_token: 'at-1', expires_in: 2 });
    expect(warnings).toHaveBeenCalledWith(
      'github: refresh failed, serving the current token until it expires: refresh: unreachable (ECONNREFUSED)',
    );
    now += 2_000;
    const error = await refusal();
    expect(error).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      description: "github cannot be reached to refresh the user's expired token; retry later",
      detail: 'github: refresh: unreachable (ECONNREFUSED)',
      headers: { 'retry-after': '30' },
    });
  });

  it('disconnects the grant when the provider refuses the refresh token', async () => {
    await connect(10);
    now += 10_000;
    refresh.mockRejectedValue(new UpstreamError('rejected', 'refresh: the provider answered 400 invalid_grant'));
    expect(await refusal()).toMatchObject({
      error: 'invalid_grant',
      description: "the user's github authorization was revoked or has expired; the user must reconnect the account",
    });
    expect(await store.read(key)).toMatchObject({ status: 'disconnected', sealed: null });
    expect(warnings.mock.calls.flat().join(' ')).not.toMatch(/at-1|rt-1/);
    expect((await refusal()).error).toBe('invalid_grant');
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('serves a token without a refresh token until it expires, then asks for a reconnect', async () => {
    await connect(10, { refresh_token: undefined });
    now += 9_000;
    expect(await exchange()).toMatchObject({ access_token: 'at-1', expires_in: 1 });
    now += 1_000;
    expect((await refusal()).detail).toBe(
      'grant disconnected: the access token expired and the provider issued no refresh token',
    );
    expect(refresh).not.toHaveBeenCalled();
  });

  it('answers 503, not a server error, when the stored token cannot be decrypted (its key left VAULT_KEYS)', async () => {
    await connect(3600);
    const connections = new VaultConnections(server, vaultConfig);
    vault = new TokenVault(server, connections, store, KeyRing.ephemeral());
    expect(await refusal()).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      description: "the token vault cannot read the user's stored token",
      detail: expect.stringMatching(
        /^vault decryption failed: key-encryption key "ephemeral-\w+" is not in VAULT_KEYS$/,
      ),
    });
  });

  it('never refreshes a token without a known expiry, and answers it without expires_in', async () => {
    await connect(null);
    now += 365 * 86400_000;
    const response = await exchange();
    expect(response).toEqual({
      access_token: 'at-1',
      issued_token_type: subject.tokenType,
      token_type: 'Bearer',
      scope: 'repo',
    });
    expect(refresh).not.toHaveBeenCalled();
  });
});

describe('TokenVault refresh answers it cannot use', () => {
  const unusable = (refreshToken?: string): UpstreamAnswer => ({
    accessToken: 'at-2',
    tokenType: 'bearer',
    ...(refreshToken ? { refreshToken } : {}),
    unusable: {
      reason: 'its expires_in is out of range',
      detail: 'expires_in 1e+300 is out of range (at most 315360000 seconds)',
    },
  });
  const sealedTokens = async () => openJson<UpstreamTokens>(ring, (await store.read(key))!.sealed!, grantBinding(key));

  it('never serves the new token; keeps its rotated refresh token with the current one, served until it expires, then 503', async () => {
    await connect(10);
    now += 8_000;
    refresh.mockResolvedValueOnce(unusable('rt-2'));
    expect(await exchange()).toMatchObject({ access_token: 'at-1', expires_in: 2 });
    expect(warnings).toHaveBeenCalledWith(
      'github: refresh failed, serving the current token until it expires: refresh: the provider answered a token the vault cannot keep: expires_in 1e+300 is out of range (at most 315360000 seconds); its rotated refresh token is kept',
    );
    expect(await sealedTokens()).toEqual({
      access_token: 'at-1',
      token_type: 'Bearer',
      refresh_token: 'rt-2',
      scopes: ['repo'],
    });
    expect(await store.read(key)).toMatchObject({ status: 'connected', expiresAt: seconds() + 2, scopes: ['repo'] });

    now += 2_000;
    refresh.mockResolvedValueOnce(unusable('rt-3'));
    expect(await refusal()).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      description: "github cannot be reached to refresh the user's expired token; retry later",
      detail:
        'github: refresh: the provider answered a token the vault cannot keep: expires_in 1e+300 is out of range (at most 315360000 seconds); its rotated refresh token is kept',
    });
    expect(refresh).toHaveBeenLastCalledWith('rt-2');
    expect((await sealedTokens()).refresh_token).toBe('rt-3');

    // The provider answers properly again: the grant is alive.
    refresh.mockResolvedValueOnce(renewed(3600, 'rt-4'));
    expect(await exchange()).toMatchObject({ access_token: 'at-2', expires_in: 3600 });
    expect(refresh).toHaveBeenLastCalledWith('rt-3');
  });

  it('stores nothing from such an answer without a new refresh token', async () => {
    await connect(10);
    now += 10_000;
    refresh.mockResolvedValueOnce(unusable());
    expect((await refusal()).detail).toBe(
      'github: refresh: the provider answered a token the vault cannot keep: expires_in 1e+300 is out of range (at most 315360000 seconds)',
    );
    expect(await sealedTokens()).toEqual({ access_token: 'at-1', token_type: 'Bearer', refresh_token: 'rt-1' });
  });
});

describe('TokenVault scopes beyond the connection', () => {
  it("refuses a stored token carrying a scope outside the connection's scopes, which no rule can grant", async () => {
    await connect(3600, {}, ['repo', 'admin:org']);
    expect(await refusal()).toMatchObject({
      error: 'invalid_scope',
      description: "the user's token carries scopes the connection's policy does not grant this caller",
      detail: 'rule github/all does not grant: admin:org',
    });
    expect(refresh).not.toHaveBeenCalled();
  });

  it('serves a token carrying one of connect.extra_scopes besides what the rule grants', async () => {
    await connect(3600, {}, ['repo', 'offline_access']);
    expect(await exchange()).toMatchObject({ access_token: 'at-1', scope: 'repo offline_access' });
  });

  it("disconnects, and revokes upstream, a grant the provider widens beyond the connection's scopes at refresh", async () => {
    await connect(10);
    now += 20_000;
    refresh.mockResolvedValue({ ...renewed(3600, 'rt-2'), scope: ['repo', 'admin:org'] });
    expect(await refusal()).toMatchObject({
      error: 'invalid_grant',
      description: "the user's github authorization was revoked or has expired; the user must reconnect the account",
      detail: "grant disconnected: the provider widened the grant at refresh beyond the connection's scopes: admin:org",
    });
    expect(await store.read(key)).toMatchObject({ status: 'disconnected', sealed: null });
    expect(revokeGrant).toHaveBeenCalledTimes(1);
    expect(revokeGrant).toHaveBeenCalledWith(expect.objectContaining({ access_token: 'at-2', refresh_token: 'rt-2' }));
    expect((await refusal()).error).toBe('invalid_grant');
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('stores and serves a refreshed token whose scopes stay within scopes and connect.extra_scopes', async () => {
    await connect(10);
    now += 20_000;
    refresh.mockResolvedValue({ ...renewed(3600, 'rt-2'), scope: ['repo', 'offline_access'] });
    expect(await exchange()).toMatchObject({ access_token: 'at-2', scope: 'repo offline_access' });
    expect(revokeGrant).not.toHaveBeenCalled();
  });
});

describe('TokenVault scopes sealed with the tokens', () => {
  it.each([
    {
      name: 'the same scopes, in another order',
      sealed: ['offline_access', 'repo'],
      column: ['repo', 'offline_access'],
    },
    { name: 'none sealed (a record sealed before scopes were)', sealed: undefined, column: ['repo'] },
  ])('serves a grant whose scopes column agrees with what was sealed: $name', async ({ sealed, column }) => {
    await connect(3600, sealed === undefined ? {} : { scopes: sealed }, column);
    expect(await exchange()).toMatchObject({ access_token: 'at-1' });
  });

  it('refuses a grant whose scopes column says less than the sealed token carries (edited in the database)', async () => {
    await connect(3600, { scopes: ['repo', 'admin:org'] }, ['repo']);
    expect(await refusal()).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      description: "the token vault cannot read the user's stored token",
      detail: "vault decryption failed: the grant's scopes are not those sealed with its tokens (tampered)",
    });
    expect(refresh).not.toHaveBeenCalled();
  });
});
