import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { listenManagement } from '../../src/app/app.factory.js';
import { KeyRing } from '../../src/vault/key-ring.js';
import { openJson } from '../../src/vault/envelope.js';
import { grantBinding, type UpstreamTokens } from '../../src/vault/vault-store.js';
import { freePort } from '../support/free-port.js';
import { describeWithPostgres } from '../support/postgres.js';
import { claimsOf, postToken, startTestApp, TT } from '../support/test-app.js';
import {
  agent,
  APP_REDIRECT,
  GITHUB_API,
  postVault,
  startVaultWorld,
  USER_APP,
  type VaultWorld,
} from '../support/token-vault.js';

/**
 * Token vault end to end: a user connects a "GitHub" account (oidc-provider, authorization code + PKCE
 * driven through its login and consent pages like a browser), an agent acting for the user exchanges
 * the user's token for the upstream access token, policy refuses the others, the tokens sit in
 * PostgreSQL as ciphertext, disconnect revokes upstream.
 */

/** An exchange's form for `subject_token` with agent-1's own token as actor token, and `extra`. */
const actedByAgent1 = async (world: VaultWorld, subject_token: string, extra: Record<string, string>) => ({
  subject_token,
  subject_token_type: TT.accessToken,
  actor_token: await world.agentToken('agent-1'),
  actor_token_type: TT.accessToken,
  ...extra,
});

const describeVault = await describeWithPostgres();

/** The completion's answer for a github account connected with the connection's default scopes. */
const GITHUB_CONNECTED = {
  connection: 'github',
  scope: 'repo read:user openid offline_access',
  refreshable: true,
  expires_in: expect.any(Number),
};

describeVault('token vault: connect, exchange, policy, storage, disconnect', () => {
  let world: VaultWorld;
  let alice: string;
  let accessToken: string;
  let managementUrl: string;

  beforeAll(async () => {
    const managementPort = await freePort();
    managementUrl = `http://127.0.0.1:${managementPort}`;
    world = await startVaultWorld({
      instances: 1,
      database: true,
      env: { MANAGEMENT_PORT: String(managementPort) },
    });
    await listenManagement(world.instances[0]!.app, world.instances[0]!.config.server);
    alice = await world.userToken('alice');
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  const sts = () => world.instances[0]!;

  /** The app completing `user`'s flow again with the connect_code its browser came back with. */
  const completeAgain = async (user: string, returnedTo: URL) =>
    postVault(sts(), '/vault/connect/complete', {
      subject_token: await world.userToken(user),
      subject_token_type: TT.accessToken,
      connect_code: returnedTo.searchParams.get('connect_code') ?? undefined,
    });

  it("connects alice's account: PKCE S256, state and nonce at the provider, completion by the app with a one-time code", async () => {
    const { started, returnedTo, completed } = await world.connect('alice', 'alice-gh');
    expect(started.status).toBe(200);
    expect(started.headers.get('cache-control')).toBe('no-store');
    const url = new URL(String(started.body.authorization_url));
    expect(url.origin + url.pathname).toBe(`${world.github.issuer}/auth`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'actbridge-github',
      response_type: 'code',
      redirect_uri: `${world.issuer}/vault/callback`,
      scope: 'repo read:user openid offline_access',
      state: expect.stringMatching(/^[\w-]{43}$/),
      nonce: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge_method: 'S256',
      prompt: 'consent',
    });
    expect(started.body.expires_in).toBe(600);
    expect(returnedTo.origin + returnedTo.pathname).toBe(APP_REDIRECT);
    expect([...returnedTo.searchParams.keys()]).toEqual(['connection', 'connect_code']);
    expect(completed).toMatchObject({
      status: 200,
      body: {
        connection: 'github',
        scope: expect.stringContaining('repo'),
        refreshable: true,
        expires_in: expect.any(Number),
      },
    });
    expect(world.github.stats.codeGrants).toBe(1);
    const lines = sts().audit.lines.filter((l) => String(l.event).startsWith('vault.'));
    expect(lines.map((l) => [l.event, l.outcome])).toEqual([
      ['vault.connect', 'started'],
      ['vault.callback', 'returned'],
      ['vault.connect_complete', 'connected'],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({
        client_id: 'user-app',
        subject: { sub: 'alice', iss: world.corp.issuer },
        connection: 'github',
        scope: 'repo read:user openid offline_access',
      });
    }
  });

  it("exchanges alice's token, presented by agent-1 with its actor token, for her upstream access token", async () => {
    const response = await world.exchange(
      sts(),
      agent('agent-1'),
      await actedByAgent1(world, alice, { resource: GITHUB_API }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      access_token: expect.any(String),
      issued_token_type: TT.accessToken,
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      scope: expect.stringContaining('repo'),
    });
    accessToken = String(response.body.access_token);
    expect(response.body.expires_in).toBeGreaterThan(3500);
    // The provider itself accepts it as alice-gh's token.
    const me = await fetch(`${world.github.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me.json()).toEqual({ sub: 'alice-gh' });
    const line = sts().audit.lines.at(-1)!;
    expect(line).toMatchObject({
      event: 'token.issued',
      client_id: 'agent-1',
      subject: { sub: 'alice', iss: world.corp.issuer },
      actors: [{ sub: 'agent-1', iss: world.corp.issuer }],
      connection: 'github',
      anchor: 'corp',
      audience: [GITHUB_API],
      scope: String(response.body.scope),
      rule: 'github/agent-1-for-its-user',
      issued_token_type: TT.accessToken,
    });
    expect(JSON.stringify(line)).not.toContain(accessToken);
  });

  it('keeps the tokens as ciphertext at rest: the row holds no token, only an envelope under the configured key', async () => {
    const { rows } = await world.db!.pool.query(
      "SELECT * FROM vault_grants WHERE connection = 'github' AND user_sub = 'alice'",
    );
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    expect(row).toMatchObject({ status: 'connected', user_iss: world.corp.issuer, key_id: 'kek-1' });
    const ring = new KeyRing(new Map([['kek-1', Buffer.from(world.kek.k!, 'base64url')]]), 'kek-1');
    const tokens = openJson<UpstreamTokens>(
      ring,
      { keyId: 'kek-1', wrappedKey: row.wrapped_key as Buffer, ciphertext: row.ciphertext as Buffer },
      grantBinding({ connection: 'github', user: { iss: world.corp.issuer, sub: 'alice' } }),
    );
    expect(tokens.access_token).toBe(accessToken);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const raw = Buffer.concat(
      Object.values(row).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v) ?? ''))),
    );
    for (const secret of [tokens.access_token, tokens.refresh_token!]) {
      expect(raw.includes(Buffer.from(secret))).toBe(false);
      expect(raw.includes(Buffer.from(secret, 'utf8').toString('base64'))).toBe(false);
    }
  });

  it('exchanges a token alice delegated to agent-1 (its act chain is the caller), presented by agent-1 alone', async () => {
    const delegated = await world.exchange(
      sts(),
      USER_APP,
      await actedByAgent1(world, alice, { audience: 'agent-1', scope: 'read' }),
    );
    expect(delegated.status).toBe(200);
    const response = await world.exchange(sts(), agent('agent-1'), {
      subject_token: String(delegated.body.access_token),
      subject_token_type: TT.accessToken,
      audience: GITHUB_API,
    });
    expect(response).toMatchObject({ status: 200, body: { access_token: accessToken, token_type: 'Bearer' } });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      client_id: 'agent-1',
      subject: { sub: 'alice', iss: world.corp.issuer },
      actors: [{ sub: 'agent-1', iss: world.corp.issuer }],
      connection: 'github',
      rule: 'github/agent-1-for-its-user',
    });
  });

  it.each([
    {
      name: 'a client the connection does not name',
      client: 'agent-3',
      actor: 'agent-3',
      form: {},
      error: { error: 'invalid_target', error_description: 'this client may not obtain tokens for this connection' },
      reason: expect.stringMatching(/^client agent-3 is not among the clients of .*github\.yaml$/),
    },
    {
      name: 'an actor no rule admits (agent-1 presenting agent-2 as its actor)',
      client: 'agent-1',
      actor: 'agent-2',
      form: {},
      error: {
        error: 'invalid_target',
        error_description: "the connection's policy does not grant this caller the user's token",
      },
      reason: 'connection github: no rule matched (agent-1-for-its-user: not matched; agent-2-profile: not matched)',
    },
    {
      name: 'a scope beyond the connection',
      client: 'agent-1',
      actor: 'agent-1',
      form: { scope: 'repo admin:org' },
      error: { error: 'invalid_scope', error_description: 'scope exceeds what the connection offers' },
      reason: 'not among the scopes of github: admin:org',
    },
    {
      name: 'many scopes beyond the connection, named in part in the audit line',
      client: 'agent-1',
      actor: 'agent-1',
      form: { scope: Array.from({ length: 50 }, (_, i) => `x${i}`).join(' ') },
      error: { error: 'invalid_scope', error_description: 'scope exceeds what the connection offers' },
      reason: 'not among the scopes of github: x0 x1 x2 x3 x4 (and 45 more)',
    },
    {
      name: 'a scope the rule does not grant',
      client: 'agent-2',
      actor: 'agent-2',
      form: { scope: 'repo' },
      error: {
        error: 'invalid_scope',
        error_description: "scope exceeds what the connection's policy grants this caller",
      },
      reason: 'rule github/agent-2-profile does not grant: repo',
    },
    {
      name: 'a token that carries more than the rule grants',
      client: 'agent-2',
      actor: 'agent-2',
      form: { scope: 'read:user' },
      error: {
        error: 'invalid_scope',
        error_description: "the user's token carries scopes the connection's policy does not grant this caller",
      },
      reason: 'rule github/agent-2-profile does not grant: repo',
    },
    {
      name: 'another target besides the connection',
      client: 'agent-1',
      actor: 'agent-1',
      form: { audience: 'https://mcp.example/' },
      error: {
        error: 'invalid_target',
        error_description: 'a connection must be the only audience or resource of the request',
      },
      reason: 'a connection must be the only audience or resource of the request',
    },
    {
      name: 'a JWT instead of an access token',
      client: 'agent-1',
      actor: 'agent-1',
      form: { requested_token_type: TT.jwt },
      error: {
        error: 'invalid_request',
        error_description: "requested_token_type must be access_token for a connection's token",
      },
      reason: "requested_token_type must be access_token for a connection's token",
    },
  ])('refuses $name, with the exact error and one audit line', async ({ client, actor, form, error, reason }) => {
    const before = world.github.stats.refreshGrants;
    const response = await world.exchange(sts(), agent(client), {
      subject_token: alice,
      subject_token_type: TT.accessToken,
      actor_token: await world.agentToken(actor),
      actor_token_type: TT.accessToken,
      resource: GITHUB_API,
      ...form,
    });
    expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: error });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      client_id: client,
      connection: 'github',
      error: error.error,
      reason,
    });
    expect(world.github.stats.refreshGrants).toBe(before);
  });

  it("the playground's explain does not claim to explain a vault exchange (the connection's rules decided it)", async () => {
    const pageRef = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');
    const refused = await postToken(
      sts(),
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: alice,
        subject_token_type: TT.accessToken,
        actor_token: await world.agentToken('agent-2'),
        actor_token_type: TT.accessToken,
        resource: GITHUB_API,
      },
      { basic: agent('agent-1'), headers: { 'x-playground-ref': pageRef } },
    );
    expect(refused.body.error).toBe('invalid_target');
    const explained = await fetch(`${sts().baseUrl}/playground/explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([
        ['ref', pageRef],
        ['subject_token', alice],
        ['subject_token_type', TT.accessToken],
        ['resource', GITHUB_API],
      ]),
    });
    expect({ status: explained.status, body: await explained.json() }).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          'explain covers trust-anchor policy, not token-vault exchanges: this request was decided by the rules of connection github; its audit line says which rule and why',
      },
    });
  });

  it("refuses to complete a connection the provider granted beyond the connection's scopes: nothing stored, the grant revoked upstream", async () => {
    const revocations = world.github.stats.revocations;
    const { completed } = await world.github.withTokenResponseRewrite(
      (body) => ({ ...body, scope: `${String(body.scope)} admin:org` }),
      () => world.connect('heidi', 'heidi-gh'),
    );
    expect({ status: completed.status, body: completed.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description:
          'the provider granted scopes the connection does not offer, so the account was not connected: admin:org',
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect_complete',
      outcome: 'refused',
      subject: { sub: 'heidi' },
      connection: 'github',
      error: 'invalid_grant',
      reason: expect.stringMatching(
        /^github granted scopes beyond scopes and connect\.extra_scopes of .*github\.yaml: admin:org; upstream_revoked: true$/,
      ),
    });
    expect(world.github.stats.revocations).toBe(revocations + 1);
    expect(await world.github.hasRefreshToken('heidi-gh')).toBe(false);
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub = 'heidi'");
    expect(rows).toHaveLength(0);
    // agent-2, whose rule grants read:user only, gets nothing of it.
    const response = await world.exchange(sts(), agent('agent-2'), {
      subject_token: await world.userToken('heidi'),
      subject_token_type: TT.accessToken,
      actor_token: await world.agentToken('agent-2'),
      actor_token_type: TT.accessToken,
      resource: GITHUB_API,
    });
    expect(response.body).toEqual({
      error: 'invalid_grant',
      error_description: 'the user has not connected a github account; the user must connect it first',
    });
  });

  it("connects an account whose provider writes the granted scope comma-separated, as GitHub does ('repo,read:user')", async () => {
    const { completed } = await world.github.withTokenResponseRewrite(
      (body) => ({ ...body, scope: String(body.scope).split(' ').join(',') }),
      () => world.connect('ivan', 'ivan-gh'),
    );
    expect({ status: completed.status, body: completed.body }).toEqual({ status: 200, body: GITHUB_CONNECTED });
    const { rows } = await world.db!.pool.query("SELECT scopes FROM vault_grants WHERE user_sub = 'ivan'");
    expect(rows).toEqual([{ scopes: ['repo', 'read:user', 'openid', 'offline_access'] }]);
  });

  it('keeps the flow when the provider cannot be reached at completion: 503 retry later, and the same connect_code then completes', async () => {
    world.github.setTokenEndpointMode('down');
    let connected;
    try {
      connected = await world.connect('judy', 'judy-gh');
    } finally {
      world.github.setTokenEndpointMode('ok');
    }
    expect({ status: connected.completed.status, body: connected.completed.body }).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'github cannot be reached; retry later' },
    });
    const retried = await completeAgain('judy', connected.returnedTo);
    expect({ status: retried.status, body: retried.body }).toEqual({ status: 200, body: GITHUB_CONNECTED });
  });

  it("keeps the provider's answer with the flow when the database fails to store it: 503 retry later, and the same connect_code then stores it without redeeming the spent code again", async () => {
    const locker = await world.db!.pool.connect();
    let connected;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE vault_grants IN ACCESS EXCLUSIVE MODE');
      connected = await world.connect('mona', 'mona-gh');
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect({ status: connected.completed.status, body: connected.completed.body }).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'the token vault is unavailable; retry later' },
    });
    const retried = await completeAgain('mona', connected.returnedTo);
    expect({ status: retried.status, body: retried.body }).toEqual({ status: 200, body: GITHUB_CONNECTED });
    const served = await world.exchange(sts(), agent('agent-1'), {
      subject_token: await world.userToken('mona'),
      subject_token_type: TT.accessToken,
      actor_token: await world.agentToken('agent-1'),
      actor_token_type: TT.accessToken,
      resource: GITHUB_API,
    });
    expect(served.status).toBe(200);
  }, 30_000);

  it('refuses to complete a connection whose token has an absurd expires_in (1e300), rather than failing as a database outage; nothing stored', async () => {
    const { completed } = await world.github.withTokenResponseRewrite(
      (body) => ({ ...body, expires_in: 1e300 }),
      () => world.connect('kim', 'kim-gh'),
    );
    expect({ status: completed.status, body: completed.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'the provider issued a token the vault cannot keep (its expires_in is out of range)',
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect_complete',
      outcome: 'refused',
      subject: { sub: 'kim' },
      error: 'invalid_grant',
      reason: 'expires_in 1e+300 is out of range (at most 315360000 seconds)',
    });
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub = 'kim'");
    expect(rows).toHaveLength(0);
    // Starting again works once the provider answers properly.
    expect((await world.connect('kim', 'kim-gh')).completed.status).toBe(200);
  });

  it('refuses to complete a connection whose token is not a Bearer token (DPoP); nothing stored', async () => {
    const { completed } = await world.github.withTokenResponseRewrite(
      (body) => ({ ...body, token_type: 'DPoP' }),
      () => world.connect('lena', 'lena-gh'),
    );
    expect({ status: completed.status, body: completed.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'the provider issued a token the vault cannot keep (not a Bearer token)',
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect_complete',
      outcome: 'refused',
      error: 'invalid_grant',
      reason: 'token_type dpop',
    });
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub = 'lena'");
    expect(rows).toHaveLength(0);
  });

  it("refuses a stored token carrying a scope outside the connection's scopes to every caller, whatever its rule", async () => {
    await world.connect('ivan', 'ivan-gh');
    // A grant stored before such grants were refused at connect.
    await world.db!.pool.query(
      "UPDATE vault_grants SET scopes = array_append(scopes, 'admin:org') WHERE connection = 'github' AND user_sub = 'ivan'",
    );
    const response = await world.exchange(
      sts(),
      agent('agent-1'),
      await actedByAgent1(world, await world.userToken('ivan'), { resource: GITHUB_API }),
    );
    expect({ status: response.status, body: response.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: "the user's token carries scopes the connection's policy does not grant this caller",
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      client_id: 'agent-1',
      connection: 'github',
      error: 'invalid_scope',
      reason: 'rule github/agent-1-for-its-user does not grant: admin:org',
    });
  });

  it('refuses to serve a grant whose scopes were narrowed in the database: the scope check reads the column, the token carries what was sealed', async () => {
    await world.connect('judy', 'judy-gh');
    const judy = await world.userToken('judy');
    const asAgent2 = async () =>
      world.exchange(sts(), agent('agent-2'), {
        subject_token: judy,
        subject_token_type: TT.accessToken,
        actor_token: await world.agentToken('agent-2'),
        actor_token_type: TT.accessToken,
        resource: GITHUB_API,
      });
    expect((await asAgent2()).body.error).toBe('invalid_scope');
    // Someone with write access to the database (not to VAULT_KEYS) makes judy's repo token look like
    // read:user, all agent-2's rule grants.
    await world.db!.pool.query(
      "UPDATE vault_grants SET scopes = '{read:user,openid,offline_access}' WHERE connection = 'github' AND user_sub = 'judy'",
    );
    const response = await asAgent2();
    expect({ status: response.status, body: response.body }).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: "the token vault cannot read the user's stored token",
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      client_id: 'agent-2',
      connection: 'github',
      error: 'temporarily_unavailable',
      reason: "vault decryption failed: the grant's scopes are not those sealed with its tokens (tampered)",
    });
  });

  it('refuses to complete a flow whose scopes were narrowed in the database: a provider naming no scope is taken to grant what was asked, which was sealed', async () => {
    const nina = await world.userToken('nina');
    const identity = { subject_token: nina, subject_token_type: TT.accessToken };
    const started = await postVault(sts(), '/vault/connect', { ...identity, connection: 'github' });
    expect(started.status).toBe(200);
    // Someone with write access to the database (not to VAULT_KEYS) makes the flow's repo grant look like
    // read:user, all agent-2's rule grants.
    await world.db!.pool.query(
      "UPDATE vault_connect_requests SET scopes = '{read:user,openid,offline_access}' WHERE user_sub = 'nina'",
    );
    const { TestBrowser } = await import('../support/browser.js');
    const browser = new TestBrowser();
    const stopAt = (url: URL) => url.href.startsWith(APP_REDIRECT);
    let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
    page = await browser.submit(page, { login: 'nina-gh', password: 'x' }, { stopAt });
    page = await browser.submit(page, {}, { stopAt });
    // RFC 6749 §5.1: a provider may leave scope out when it granted what was asked.
    const completed = await world.github.withTokenResponseRewrite(
      ({ scope: _granted, ...body }) => body,
      () =>
        postVault(sts(), '/vault/connect/complete', {
          ...identity,
          connect_code: page.url.searchParams.get('connect_code') ?? undefined,
        }),
    );
    expect({ status: completed.status, body: completed.body }).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: "the token vault cannot read the user's stored token",
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect_complete',
      outcome: 'refused',
      subject: { sub: 'nina' },
      connection: 'github',
      error: 'temporarily_unavailable',
      reason: "vault decryption failed: the connect request's scopes are not those sealed with it (tampered)",
    });
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub = 'nina'");
    expect(rows).toHaveLength(0);
  });

  it('tells a caller that the user has not connected the account', async () => {
    const response = await world.exchange(
      sts(),
      agent('agent-1'),
      await actedByAgent1(world, await world.userToken('bob'), { resource: GITHUB_API }),
    );
    expect({ status: response.status, body: response.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'the user has not connected a github account; the user must connect it first',
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      subject: { sub: 'bob', iss: world.corp.issuer },
      connection: 'github',
      error: 'invalid_grant',
    });
  });

  it("binds a connect flow to its user: a connect code presented with another user's token is refused and spent", async () => {
    const bob = await world.userToken('bob');
    const identity = { subject_token: bob, subject_token_type: TT.accessToken };
    const started = await postVault(sts(), '/vault/connect', { ...identity, connection: 'github' });
    expect(started.status).toBe(200);
    const { TestBrowser } = await import('../support/browser.js');
    const browser = new TestBrowser();
    const stopAt = (url: URL) => url.href.startsWith(APP_REDIRECT);
    let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
    page = await browser.submit(page, { login: 'bob-gh', password: 'x' }, { stopAt });
    page = await browser.submit(page, {}, { stopAt });
    const code = page.url.searchParams.get('connect_code')!;
    // Someone else's app session (here: carol's token) tries to finish bob's flow.
    const carol = await world.userToken('carol');
    const stolen = await postVault(sts(), '/vault/connect/complete', {
      subject_token: carol,
      subject_token_type: TT.accessToken,
      connect_code: code,
    });
    expect({ status: stolen.status, body: stolen.body }).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'connect_code was issued for another user' },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect_complete',
      outcome: 'refused',
      subject: { sub: 'carol' },
      error: 'invalid_grant',
      reason: `started for bob (${world.corp.issuer})`,
    });
    const retry = await postVault(sts(), '/vault/connect/complete', { ...identity, connect_code: code });
    expect(retry.body).toEqual({
      error: 'invalid_grant',
      error_description: 'connect_code is invalid, expired or already used',
    });
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub IN ('bob', 'carol')");
    expect(rows).toHaveLength(0);
  });

  it("sends the provider's refusal back to the app as an error code, and stores nothing", async () => {
    const bob = await world.userToken('bob');
    const started = await postVault(sts(), '/vault/connect', {
      subject_token: bob,
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    const { TestBrowser } = await import('../support/browser.js');
    const browser = new TestBrowser();
    const stopAt = (url: URL) => url.href.startsWith(APP_REDIRECT);
    let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
    page = await browser.submit(page, { login: 'bob-gh', password: 'x' }, { stopAt });
    // The consent page's "abort" link: the user declines.
    const abort = /href="([^"]*\/abort)"/.exec(page.html)![1]!;
    page = await browser.navigate(new URL(abort, page.url), { stopAt });
    expect(page.url.href).toBe(`${APP_REDIRECT}?connection=github&error=access_denied`);
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.callback',
      outcome: 'denied: access_denied',
      subject: { sub: 'bob' },
      connection: 'github',
    });
  });

  it('refuses a callback stripped of the iss its provider says it sends (RFC 9207 §2.4), and keeps the flow', async () => {
    const started = await postVault(sts(), '/vault/connect', {
      subject_token: await world.userToken('bob'),
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    const { TestBrowser } = await import('../support/browser.js');
    const browser = new TestBrowser();
    const stopAt = (url: URL) => url.href.startsWith(`${world.issuer}/vault/callback`);
    let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
    page = await browser.submit(page, { login: 'bob-gh', password: 'x' }, { stopAt });
    page = await browser.submit(page, {}, { stopAt });
    const callback = page.url;
    expect(callback.searchParams.get('iss')).toBe(world.github.issuer);
    const stripped = new URL(callback);
    stripped.searchParams.delete('iss');
    const refused = await fetch(stripped, { redirect: 'manual' });
    expect({ status: refused.status, body: await refused.json() }).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the authorization response has no iss, which its provider says it sends',
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.callback',
      outcome: 'refused',
      subject: { sub: 'bob' },
      reason: `github: authorization_response_iss_parameter_supported is true at ${world.github.issuer}`,
    });
    // The provider's own response still finds its flow.
    const kept = await fetch(callback, { redirect: 'manual' });
    expect(kept.status).toBe(303);
    expect(new URL(kept.headers.get('location')!).searchParams.has('connect_code')).toBe(true);
  });

  it('never sends the browser on to a redirect_uri no longer registered when it comes back (RFC 6749 §4.1.2.1); the flow is ended', async () => {
    const started = await postVault(sts(), '/vault/connect', {
      subject_token: await world.userToken('olga'),
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    const { TestBrowser } = await import('../support/browser.js');
    const browser = new TestBrowser();
    const stopAt = (url: URL) => url.href.startsWith(`${world.issuer}/vault/callback`);
    let page = await browser.navigate(String(started.body.authorization_url), { stopAt });
    page = await browser.submit(page, { login: 'olga-gh', password: 'x' }, { stopAt });
    page = await browser.submit(page, {}, { stopAt });
    const callback = page.url;
    // Meanwhile the operator has withdrawn the application's page (found to leak its query string, say).
    const github = world.connections.github!;
    const withdrawn = await startTestApp({
      anchors: world.anchors,
      clients: world.clients,
      connections: {
        ...world.connections,
        github: { ...github, connect: { ...(github.connect as object), redirect_uris: ['https://app.example/other'] } },
      },
      env: world.env,
    });
    try {
      const refused = await fetch(`${withdrawn.baseUrl}${callback.pathname}${callback.search}`, { redirect: 'manual' });
      expect({ status: refused.status, location: refused.headers.get('location'), body: await refused.json() }).toEqual(
        {
          status: 400,
          location: null,
          body: {
            error: 'invalid_request',
            error_description: 'the redirect_uri of this connect request is no longer registered for its connection',
          },
        },
      );
      expect(withdrawn.audit.lines.at(-1)).toMatchObject({
        event: 'vault.callback',
        outcome: 'refused',
        client_id: 'user-app',
        subject: { sub: 'olga' },
        connection: 'github',
        error: 'invalid_request',
        reason: `redirect_uri "${APP_REDIRECT}" is no longer in ${withdrawn.config.vault.connections.find((c) => c.name === 'github')!.file}`,
      });
    } finally {
      await withdrawn.close();
    }
    const ended = await fetch(callback, { redirect: 'manual' });
    expect({ status: ended.status, body: await ended.json() }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'unknown or expired connect request' },
    });
  });

  it.each([
    {
      name: 'a client the connection does not let connect accounts',
      client: agent('agent-1'),
      form: { connection: 'github' },
      status: 400,
      error: {
        error: 'unauthorized_client',
        error_description: 'this client may not connect accounts for this connection',
      },
    },
    {
      name: 'an unknown connection',
      client: USER_APP,
      form: { connection: 'gitlab' },
      status: 400,
      error: { error: 'invalid_request', error_description: 'unknown connection' },
    },
    {
      name: 'a redirect_uri the connection does not list',
      client: USER_APP,
      form: { connection: 'github', redirect_uri: 'https://evil.example/cb' },
      status: 400,
      error: { error: 'invalid_request', error_description: 'redirect_uri is not registered for this connection' },
    },
    {
      name: 'a scope the connection does not offer',
      client: USER_APP,
      form: { connection: 'github', scope: 'admin:org' },
      status: 400,
      error: { error: 'invalid_scope', error_description: 'scope exceeds what the connection offers' },
    },
    {
      name: 'a wrong client secret',
      client: ['user-app', 'not-the-secret-0123456789'] as [string, string],
      form: { connection: 'github' },
      status: 401,
      error: { error: 'invalid_client', error_description: 'client authentication failed' },
    },
  ])('refuses to start a connect flow for $name', async ({ client, form, status, error }) => {
    const response = await postVault(
      sts(),
      '/vault/connect',
      { subject_token: alice, subject_token_type: TT.accessToken, ...form },
      client,
    );
    expect({ status: response.status, body: response.body }).toEqual({ status, body: error });
    expect(sts().audit.lines.at(-1)).toMatchObject({ event: 'vault.connect', outcome: 'refused', error: error.error });
  });

  it('refuses to connect (or disconnect) a user named by a transient SAML NameID, a one-time value no later exchange could name again', async () => {
    const { base64url, createSamlTestIdp } = await import('../support/saml-idp.js');
    const spEntityId = 'https://sts.example/saml';
    const idp = await createSamlTestIdp({
      entityId: 'https://saml-idp.example',
      spEntityId,
      tokenEndpoint: `${world.issuer}/oauth/token`,
    });
    const app = await startTestApp({
      anchors: {
        ...world.anchors,
        saml: { kind: 'saml', issuer: idp.entityId, saml: { certificates: [idp.certificate] } },
      },
      clients: world.clients,
      connections: world.connections,
      env: { ...world.env, SAML_SP_ENTITY_ID: spEntityId },
    });
    const assertion = (nameIdFormat: string) => ({
      subject_token: base64url(idp.signedAssertion({ nameId: '_4f1c0e9ab27d', nameIdFormat })),
      subject_token_type: TT.saml2,
      connection: 'github',
    });
    try {
      for (const path of ['/vault/connect', '/vault/disconnect']) {
        const refused = await postVault(app, path, assertion('urn:oasis:names:tc:SAML:2.0:nameid-format:transient'));
        expect({ status: refused.status, body: refused.body }).toEqual({
          status: 400,
          body: {
            error: 'invalid_request',
            error_description:
              'subject_token names the user by a transient NameID, which could never name the account again',
          },
        });
        expect(app.audit.lines.at(-1)).toMatchObject({
          outcome: 'refused',
          subject: { sub: '_4f1c0e9ab27d', iss: idp.entityId },
          error: 'invalid_request',
        });
      }
      const persistent = await postVault(
        app,
        '/vault/connect',
        assertion('urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'),
      );
      expect(persistent.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("refuses at connect a DPoP-bound token of the user saying what to present instead, not to send a proof the vault's endpoints do not take", async () => {
    const { dpopProof, newDpopKey } = await import('../support/dpop.js');
    const key = await newDpopKey();
    const bound = await postToken(
      sts(),
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: alice,
        subject_token_type: TT.accessToken,
        audience: 'user-app',
      },
      { basic: USER_APP, headers: { dpop: await dpopProof(`${world.issuer}/oauth/token`, key) } },
    );
    expect(claimsOf(String(bound.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    // The application does what a DPoP refusal asks: a proof by the token's key, for this request.
    const refused = await postToken(
      { tokenEndpoint: `${sts().baseUrl}/vault/connect` },
      { subject_token: String(bound.body.access_token), subject_token_type: TT.accessToken, connection: 'github' },
      { basic: USER_APP, headers: { dpop: await dpopProof(`${world.issuer}/vault/connect`, key) } },
    );
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          "subject_token is DPoP-bound (cnf); the vault's endpoints take no DPoP proof: present an unbound token",
      },
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect',
      outcome: 'refused',
      subject: { sub: 'alice', iss: world.corp.issuer },
      error: 'invalid_request',
    });
  });

  it('refuses at connect a token delegated to an agent, accepts an actbridge token delegated to the application itself', async () => {
    const toAgent = await world.exchange(sts(), USER_APP, await actedByAgent1(world, alice, { audience: 'user-app' }));
    expect(toAgent.status).toBe(200);
    const refused = await postVault(sts(), '/vault/connect', {
      subject_token: String(toAgent.body.access_token),
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          "subject_token must be the user's own token or one delegated to this client; its current actor is another",
      },
    });
    // Handed back by the agent to the application, which exchanged it again: an agent is still in the chain.
    const backToApp = await world.exchange(sts(), USER_APP, {
      subject_token: String(toAgent.body.access_token),
      subject_token_type: TT.accessToken,
      audience: 'user-app',
    });
    expect(claimsOf(String(backToApp.body.access_token)).act).toMatchObject({
      sub: 'user-app',
      act: { sub: 'agent-1' },
    });
    const laundered = await postVault(sts(), '/vault/connect', {
      subject_token: String(backToApp.body.access_token),
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    expect({ status: laundered.status, body: laundered.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          "subject_token must be the user's own token or one delegated to this client; another actor acted on it before",
      },
    });
    // Without an actor token the application itself is the actor (act: {sub: user-app, iss: actbridge}).
    const toApp = await world.exchange(sts(), USER_APP, {
      subject_token: alice,
      subject_token_type: TT.accessToken,
      audience: 'user-app',
    });
    const accepted = await postVault(sts(), '/vault/connect', {
      subject_token: String(toApp.body.access_token),
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    expect(accepted.status).toBe(200);
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect',
      outcome: 'started',
      subject: { sub: 'alice', iss: world.corp.issuer },
    });
  });

  it('refuses a callback with an unknown state', async () => {
    const response = await fetch(`${sts().baseUrl}/vault/callback?code=x&state=forged`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'unknown or expired connect request',
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.callback',
      outcome: 'refused',
      error: 'invalid_request',
    });
  });

  it('answers HEAD at the callback 405 (a link scanner or prefetch must not spend the flow)', async () => {
    const response = await fetch(`${sts().baseUrl}/vault/callback?code=x&state=forged`, { method: 'HEAD' });
    expect([response.status, response.headers.get('allow')]).toEqual([405, 'GET']);
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.callback',
      outcome: 'refused',
      error: 'invalid_request',
      reason: 'the vault callback endpoint accepts GET only',
    });
  });

  it('counts each vault request by event, outcome and error, a served provider token as upstream, and its database commands', async () => {
    const exposition = await (await fetch(`${managementUrl}/metrics`)).text();
    const sample = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(exposition)?.[1] ?? 0);
    expect(sample('actbridge_vault_requests_total{event="connect",outcome="started",error="none"}')).toBeGreaterThan(0);
    expect(sample('actbridge_vault_requests_total{event="callback",outcome="returned",error="none"}')).toBeGreaterThan(
      0,
    );
    expect(
      sample('actbridge_vault_requests_total{event="connect_complete",outcome="connected",error="none"}'),
    ).toBeGreaterThan(0);
    expect(
      sample('actbridge_vault_requests_total{event="callback",outcome="refused",error="invalid_request"}'),
    ).toBeGreaterThan(1);
    expect(exposition).toMatch(
      /^actbridge_tokens_issued_total\{anchor="corp",client="[^"]+",token_type="upstream"\} [1-9]/m,
    );
    expect(exposition).not.toMatch(/outcome="denied: /);
    // Its PostgreSQL commands, as the Redis stores' are; the save the locked table refused among the errors.
    expect(
      sample('actbridge_store_operation_duration_seconds_count{store="vault",operation="find_pending"}'),
    ).toBeGreaterThan(0);
    expect(sample('actbridge_store_operation_duration_seconds_count{store="vault",operation="read"}')).toBeGreaterThan(
      0,
    );
    expect(sample('actbridge_store_errors_total{store="vault",operation="save"}')).toBeGreaterThan(0);
    expect(exposition).not.toMatch(/store="vault",operation="(null|withGrantLock)"/);
  });

  it('disconnects: revokes the refresh token at the provider (RFC 7009), deletes the grant', async () => {
    await world.connect('dave', 'dave-gh');
    expect(await world.github.hasRefreshToken('dave-gh')).toBe(true);
    const dave = await world.userToken('dave');
    const before = world.github.stats.revocations;
    const response = await postVault(sts(), '/vault/disconnect', {
      subject_token: dave,
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: { connection: 'github', disconnected: true, upstream_revoked: true },
    });
    expect(world.github.stats.revocations).toBe(before + 1);
    expect(await world.github.hasRefreshToken('dave-gh')).toBe(false);
    const { rows } = await world.db!.pool.query("SELECT 1 FROM vault_grants WHERE user_sub = 'dave'");
    expect(rows).toHaveLength(0);
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'vault.disconnect',
      outcome: 'disconnected',
      client_id: 'user-app',
      subject: { sub: 'dave', iss: world.corp.issuer },
      connection: 'github',
      scope: 'repo read:user openid offline_access',
      upstream_revoked: true,
    });
    const exchange = await world.exchange(
      sts(),
      agent('agent-1'),
      await actedByAgent1(world, dave, { resource: GITHUB_API }),
    );
    expect(exchange.body).toEqual({
      error: 'invalid_grant',
      error_description: 'the user has not connected a github account; the user must connect it first',
    });
  });
});

describeVault('token vault without DATABASE_URL (start-dev): process memory, a key generated at startup', () => {
  let world: VaultWorld;

  beforeAll(async () => {
    world = await startVaultWorld({ instances: 1, database: false });
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  it('connects through OpenID discovery ("Google") with the user\'s ID token, and exchanges her access token', async () => {
    const { idToken } = await world.corp.userTokens('alice', {
      clientId: 'user-app',
      resource: world.issuer,
      scope: 'openid read',
    });
    const { completed } = await world.connect('alice', 'alice-google', {
      connection: 'google',
      identity: { subject_token: idToken, subject_token_type: TT.idToken },
    });
    expect(completed).toMatchObject({ status: 200, body: { connection: 'google', refreshable: true } });
    const response = await world.exchange(
      world.instances[0]!,
      agent('agent-1'),
      await actedByAgent1(world, await world.userToken('alice'), { audience: 'https://www.googleapis.com' }),
    );
    expect(response).toMatchObject({ status: 200, body: { token_type: 'Bearer', issued_token_type: TT.accessToken } });
    expect(world.instances[0]!.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      connection: 'google',
      rule: 'google/agents',
    });
  });
});

describeVault('token vault and revoked tokens of actbridge past their exp (TOKEN_TTL 2)', () => {
  let world: VaultWorld;

  beforeAll(async () => {
    world = await startVaultWorld({ instances: 1, database: false, env: { TOKEN_TTL: '2' } });
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  it('refuses a revoked token once past its exp, though CLOCK_SKEW still accepts it: no upstream token, no connect flow', async () => {
    const sts = world.instances[0]!;
    await world.connect('alice', 'alice-gh');
    const alice = await world.userToken('alice');
    const toAgent = await world.exchange(sts, USER_APP, await actedByAgent1(world, alice, { audience: 'agent-1' }));
    const toApp = await world.exchange(sts, USER_APP, {
      subject_token: alice,
      subject_token_type: TT.accessToken,
      audience: 'user-app',
    });
    const delegated = String(toAgent.body.access_token);
    const own = String(toApp.body.access_token);
    const viaVault = () =>
      world.exchange(sts, agent('agent-1'), {
        subject_token: delegated,
        subject_token_type: TT.accessToken,
        resource: GITHUB_API,
      });
    expect((await viaVault()).status).toBe(200);
    for (const token of [delegated, own]) {
      const revoked = await postToken({ tokenEndpoint: `${sts.baseUrl}/oauth/revoke` }, { token }, { basic: USER_APP });
      expect(revoked.status).toBe(200);
    }
    // The revocation is remembered until the token's exp; CLOCK_SKEW (30 s) accepts it a while longer.
    const exp = Math.max(Number(claimsOf(delegated).exp), Number(claimsOf(own).exp));
    await new Promise((resolve) => setTimeout(resolve, (exp + 1) * 1000 - Date.now()));
    const refused = await viaVault();
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'subject_token has expired' },
    });
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      client_id: 'agent-1',
      error: 'invalid_request',
      reason: 'subject_token has expired',
    });
    const connect = await postVault(sts, '/vault/connect', {
      subject_token: own,
      subject_token_type: TT.accessToken,
      connection: 'github',
    });
    expect({ status: connect.status, body: connect.body }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'subject_token has expired' },
    });
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'vault.connect',
      outcome: 'refused',
      error: 'invalid_request',
    });
  }, 20_000);
});
