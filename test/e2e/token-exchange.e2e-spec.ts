import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import * as client from 'openid-client';
import { freePort } from '../support/free-port.js';
import { claimsOf, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient } from '../support/clients.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

/**
 * RFC 8693 delegation end to end, over real HTTP on loopback, with real peers:
 *   upstream IdP  = oidc-provider (RFC 9068 JWT access tokens, id_tokens), found through its discovery;
 *   clients       = openid-client (discovery of actbridge, then genericGrantRequest);
 *   resource side = jose verifying what actbridge issued against its published JWKS.
 */

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const MCP = 'https://mcp.example/';
const UPSTREAM_TIMEOUT_MS = 500;
/**
 * JWKS_COOLDOWN (s). Long enough that the second exchange of the cooldown tests, which must be answered
 * from the cooldown, certainly comes within it after a first fetch that took UPSTREAM_TIMEOUT_MS.
 */
const JWKS_COOLDOWN_S = 3;
/** Past JWKS_COOLDOWN since the last fetch. */
const pastCooldown = () => sleep(JWKS_COOLDOWN_S * 1000 + 100);

let idp: UpstreamIdp;
let sts: TestApp;
let stsIssuer: string;
let agent2Key: CryptoKey;

/** openid-client configured against actbridge through discovery, as a real client would be. */
async function clientFor(clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(new URL(stsIssuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const port = await freePort();
  stsIssuer = `http://127.0.0.1:${port}`;
  idp = await startUpstreamIdp({
    clients: [
      { client_id: 'agent-1', client_secret: 'agent-1-upstream-secret' },
      { client_id: 'agent-2', client_secret: 'agent-2-upstream-secret' },
      { client_id: 'user-app', client_secret: 'user-app-upstream-secret' },
    ],
    // Tokens the IdP issues *for actbridge* name actbridge's issuer as their resource (= aud).
    resources: { [stsIssuer]: { scope: 'read write tools' } },
    extraUserAccessTokenClaims: { bob: { may_act: { sub: 'agent-1' } } },
  });
  const pair = await generateKeyPair('ES256', { extractable: true });
  agent2Key = pair.privateKey;
  sts = await startTestApp({
    port,
    // Found through discovery: no keys in the anchor file.
    anchors: { upstream: { issuer: idp.issuer, audiences: [stsIssuer] } },
    clients: [
      basicClient('agent-1', 'agent-1-secret-0123456789', {
        audiences: ['agent-2', MCP],
        scopes: ['read', 'write', 'tools'],
      }),
      {
        client_id: 'agent-2',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'agent-2-key', alg: 'ES256' }] },
        audiences: [MCP, 'agent-1'],
        scopes: ['read', 'tools'],
      },
      {
        client_id: 'user-app',
        token_endpoint_auth_method: 'client_secret_post',
        client_secret: 'user-app-secret-0123456789',
        audiences: ['https://api.example/'],
        default_audience: 'https://api.example/',
        scopes: ['profile'],
      },
    ],
    env: { JWKS_COOLDOWN: String(JWKS_COOLDOWN_S), UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) },
  });
});

afterAll(async () => {
  await sts?.close();
  await idp?.close();
});

describe('discovery of actbridge', () => {
  it.each(['oidc', 'oauth2'] as const)('works with openid-client (%s well-known) unmodified', async (algorithm) => {
    const config = await client.discovery(new URL(stsIssuer), 'agent-1', undefined, undefined, {
      algorithm,
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata()).toMatchObject({
      issuer: stsIssuer,
      token_endpoint: `${stsIssuer}/oauth/token`,
      jwks_uri: `${stsIssuer}/.well-known/jwks.json`,
      grant_types_supported: [
        TOKEN_EXCHANGE,
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'urn:ietf:params:oauth:grant-type:saml2-bearer',
      ],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    });
  });
});

describe('delegation chain: user → agent 1 → agent 2 → MCP server', () => {
  it('issues nested act claims, narrows scope and never extends lifetime', async () => {
    const alice = await idp.userTokens('alice', {
      clientId: 'user-app',
      resource: stsIssuer,
      scope: 'openid read write tools',
    });
    const agent1Actor = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
    const agent2Actor = await idp.clientCredentialsToken('agent-2', { resource: stsIssuer });

    // Hop 1: agent 1 acts for alice towards agent 2.
    const agent1 = await clientFor('agent-1', client.ClientSecretBasic('agent-1-secret-0123456789'));
    const hop1 = await client.genericGrantRequest(agent1, TOKEN_EXCHANGE, {
      subject_token: alice.accessToken,
      subject_token_type: TT.accessToken,
      actor_token: agent1Actor,
      actor_token_type: TT.accessToken,
      audience: 'agent-2',
      scope: 'read tools',
    });
    expect(hop1).toMatchObject({ token_type: 'bearer', issued_token_type: TT.accessToken, scope: 'read tools' });

    // Hop 2: agent 2 (private_key_jwt) passes the delegated token on to the MCP server.
    const agent2 = await clientFor('agent-2', client.PrivateKeyJwt({ key: agent2Key, kid: 'agent-2-key' }));
    const hop2 = await client.genericGrantRequest(agent2, TOKEN_EXCHANGE, {
      subject_token: hop1.access_token,
      subject_token_type: TT.accessToken,
      actor_token: agent2Actor,
      actor_token_type: TT.accessToken,
      resource: MCP,
    });

    // The MCP server verifies what it received against actbridge's published keys.
    const { payload, protectedHeader } = await jwtVerify(
      hop2.access_token,
      createRemoteJWKSet(new URL(`${stsIssuer}/.well-known/jwks.json`)),
      { issuer: stsIssuer, audience: MCP, typ: 'at+jwt', algorithms: ['ES256'] },
    );
    expect(protectedHeader.kid).toEqual(expect.any(String));
    // RFC 8693 §4.1 (specs §2.5): the outermost act is the current actor, prior actors nest inside.
    expect(payload).toMatchObject({
      sub: 'alice',
      client_id: 'agent-2',
      scope: 'read tools',
      sub_id: { format: 'iss_sub', iss: idp.issuer, sub: 'alice' },
      act: { sub: 'agent-2', iss: idp.issuer, act: { sub: 'agent-1', iss: idp.issuer } },
    });
    expect((payload.act as { act: { act?: unknown } }).act.act).toBeUndefined();
    // Lifetime never grows through an exchange.
    expect(payload.exp).toBeLessThanOrEqual(claimsOf(hop1.access_token).exp as number);
    expect(claimsOf(hop1.access_token).exp).toBeLessThanOrEqual(claimsOf(alice.accessToken).exp as number);

    const [line1, line2] = sts.audit.lines.slice(-2);
    expect(line1).toMatchObject({
      event: 'token.issued',
      client_id: 'agent-1',
      subject: { sub: 'alice', iss: idp.issuer },
      actors: [{ sub: 'agent-1', iss: idp.issuer }],
      audience: ['agent-2'],
      scope: 'read tools',
      jti: claimsOf(hop1.access_token).jti,
    });
    expect(line2).toMatchObject({
      client_id: 'agent-2',
      client_authenticated: true,
      subject: { sub: 'alice', iss: idp.issuer },
      actors: [
        { sub: 'agent-2', iss: idp.issuer },
        { sub: 'agent-1', iss: idp.issuer },
      ],
      audience: [MCP],
      ttl: expect.any(Number),
      jti: payload.jti,
    });
  });

  it('refuses to stretch the chain past agent 2 towards a target agent 2 may not reach', async () => {
    const alice = await idp.userTokens('alice', { clientId: 'user-app', resource: stsIssuer });
    const agent2 = await clientFor('agent-2', client.PrivateKeyJwt({ key: agent2Key, kid: 'agent-2-key' }));
    await expect(
      client.genericGrantRequest(agent2, TOKEN_EXCHANGE, {
        subject_token: alice.accessToken,
        subject_token_type: TT.accessToken,
        audience: 'agent-2',
      }),
    ).rejects.toMatchObject({ error: 'invalid_target', status: 400 });
  });
});

describe('scope never grows', () => {
  const agent1 = () => clientFor('agent-1', client.ClientSecretBasic('agent-1-secret-0123456789'));
  const agent2 = () => clientFor('agent-2', client.PrivateKeyJwt({ key: agent2Key, kid: 'agent-2-key' }));

  // RFC 8693 §2.1: what is issued is bounded by what the subject token conveys. A token actbridge issued
  // with no scope (an empty intersection) conveys none, rather than no bound.
  it('through a token issued with no scope, handed back to a client allowed more', async () => {
    const alice = await idp.userTokens('alice', { clientId: 'user-app', resource: stsIssuer, scope: 'openid write' });
    const hop1 = await client.genericGrantRequest(await agent1(), TOKEN_EXCHANGE, {
      subject_token: alice.accessToken,
      subject_token_type: TT.accessToken,
      audience: 'agent-2',
      scope: 'write',
    });
    expect(hop1.scope).toBe('write');
    // agent-2 may hold read and tools only: nothing of `write` passes, and the token carries no scope.
    const hop2 = await client.genericGrantRequest(await agent2(), TOKEN_EXCHANGE, {
      subject_token: hop1.access_token,
      subject_token_type: TT.accessToken,
      audience: 'agent-1',
    });
    expect(hop2.scope).toBeUndefined();
    expect(claimsOf(hop2.access_token).scope).toBeUndefined();

    await expect(
      client.genericGrantRequest(await agent1(), TOKEN_EXCHANGE, {
        subject_token: hop2.access_token,
        subject_token_type: TT.accessToken,
        audience: 'agent-2',
        scope: 'read write',
      }),
    ).rejects.toMatchObject({
      error: 'invalid_scope',
      error_description: "scope exceeds the subject_token's scope: read write",
      status: 400,
    });
    // The same token presented as `jwt`: still actbridge's, still no scope.
    const hop3 = await client.genericGrantRequest(await agent1(), TOKEN_EXCHANGE, {
      subject_token: hop2.access_token,
      subject_token_type: TT.jwt,
      audience: 'agent-2',
    });
    expect(hop3.scope).toBeUndefined();
    expect(claimsOf(hop3.access_token).scope).toBeUndefined();
    expect(sts.audit.lines.at(-1)).toMatchObject({ event: 'token.issued', client_id: 'agent-1', scope: '' });
  });

  it('from an upstream access token that carries no scope claim (RFC 9068: it grants none)', async () => {
    const alice = await idp.userTokens('alice', { clientId: 'user-app', resource: stsIssuer, scope: 'openid' });
    expect(claimsOf(alice.accessToken).scope).toBeUndefined();
    await expect(
      client.genericGrantRequest(await agent1(), TOKEN_EXCHANGE, {
        subject_token: alice.accessToken,
        subject_token_type: TT.accessToken,
        audience: 'agent-2',
        scope: 'read',
      }),
    ).rejects.toMatchObject({
      error: 'invalid_scope',
      error_description: "scope exceeds the subject_token's scope: read",
    });
  });
});

describe('subject token kinds', () => {
  it("exchanges the user's ID token, presented by the client it was issued to", async () => {
    const alice = await idp.userTokens('alice', { clientId: 'user-app', resource: stsIssuer });
    const userApp = await clientFor('user-app', client.ClientSecretPost('user-app-secret-0123456789'));
    const response = await client.genericGrantRequest(userApp, TOKEN_EXCHANGE, {
      subject_token: alice.idToken,
      subject_token_type: TT.idToken,
    });
    // An identity assertion carries no scope: the client's policy sets it; the default audience applies.
    expect(claimsOf(response.access_token)).toMatchObject({
      sub: 'alice',
      aud: 'https://api.example/',
      scope: 'profile',
      act: { sub: 'user-app', iss: stsIssuer },
    });
    // How alice logged in, as her ID token says (RFC 9068 §2.2.1): a resource can ask for a fresher login.
    const { auth_time: authTime } = claimsOf(alice.idToken);
    expect(typeof authTime).toBe('number');
    expect(claimsOf(response.access_token).auth_time).toBe(authTime);
  });

  it('refuses an ID token presented by a client it was not issued to', async () => {
    const alice = await idp.userTokens('alice', { clientId: 'user-app', resource: stsIssuer });
    const res = await postToken(
      sts,
      { grant_type: TOKEN_EXCHANGE, subject_token: alice.idToken, subject_token_type: TT.idToken, audience: MCP },
      { basic: ['agent-1', 'agent-1-secret-0123456789'] },
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token audience is not accepted: an ID token must be issued to client agent-1',
    });
  });
});

describe('may_act in an upstream token', () => {
  const exchangeBob = async (clientId: 'agent-1' | 'agent-2') => {
    const bob = await idp.userTokens('bob', { clientId: 'user-app', resource: stsIssuer });
    expect(claimsOf(bob.accessToken).may_act).toEqual({ sub: 'agent-1' });
    const actor = await idp.clientCredentialsToken(clientId, { resource: stsIssuer });
    const auth =
      clientId === 'agent-1'
        ? client.ClientSecretBasic('agent-1-secret-0123456789')
        : client.PrivateKeyJwt({ key: agent2Key, kid: 'agent-2-key' });
    return client.genericGrantRequest(await clientFor(clientId, auth), TOKEN_EXCHANGE, {
      subject_token: bob.accessToken,
      subject_token_type: TT.accessToken,
      actor_token: actor,
      actor_token_type: TT.accessToken,
      resource: MCP,
    });
  };

  it('lets the named actor delegate', async () => {
    const response = await exchangeBob('agent-1');
    expect(claimsOf(response.access_token).act).toEqual({ sub: 'agent-1', iss: idp.issuer });
  });

  it('refuses any other actor', async () => {
    await expect(exchangeBob('agent-2')).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: "the actor_token's subject is not permitted by the subject_token's may_act claim",
    });
  });
});

describe('upstream keys', () => {
  const exchangeWith = (subjectToken: string) =>
    postToken(
      sts,
      { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: TT.accessToken, audience: MCP },
      { basic: ['agent-1', 'agent-1-secret-0123456789'] },
    );

  it('found the keys through discovery once', () => {
    expect(idp.stats.discoveryRequests).toBe(1);
  });

  it('refetches the JWKS once when the issuer rotates to an unknown kid', async () => {
    await pastCooldown();
    idp.resetStats();
    const newKid = await idp.rotateSigningKey();
    const token = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
    expect(decodeProtectedHeader(token).kid).toBe(newKid);
    expect((await exchangeWith(token)).status).toBe(200);
    expect((await exchangeWith(token)).status).toBe(200);
    expect(idp.stats.jwksRequests).toBe(1);
  });

  it('keeps cached keys working while the JWKS endpoint is down, and fails unknown keys fast', async () => {
    const known = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
    await pastCooldown();
    idp.setJwksMode('down');
    try {
      expect((await exchangeWith(known)).status).toBe(200);
      await idp.rotateSigningKey();
      const unknown = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
      const fetchesBefore = idp.stats.jwksRequests;
      const res = await exchangeWith(unknown);
      expect(idp.stats.jwksRequests - fetchesBefore).toBeLessThanOrEqual(1); // one try, no retry loop
      // The token may be one of a rotated-in key: retry later (503), not "your token is bad" (400).
      expect({ status: res.status, body: res.body }).toEqual({
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description: 'subject_token cannot be verified: no cached key matches, and issuer keys unavailable',
        },
      });
      // The upstream's URL and status are the operator's to see: in the audit line, not the answer.
      expect(sts.audit.lines.at(-1)).toMatchObject({
        event: 'token.refused',
        error: 'temporarily_unavailable',
        reason: expect.stringMatching(
          /^subject_token cannot be verified: no cached key matches, and issuer keys unavailable: HTTP 503 from http:\/\/127\.0\.0\.1:\d+\//,
        ),
      });
    } finally {
      idp.setJwksMode('ok');
    }
  });

  it('bounds a hanging JWKS endpoint by the timeout, then fails fast during the cooldown', async () => {
    await pastCooldown();
    idp.setJwksMode('hang');
    try {
      await idp.rotateSigningKey();
      const unknown = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
      const started = Date.now();
      const first = await exchangeWith(unknown);
      const firstMs = Date.now() - started;
      expect(firstMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50);
      expect(firstMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 1000);
      expect(first.body.error_description).toBe(
        'subject_token cannot be verified: no cached key matches, and issuer keys unavailable',
      );
      expect(sts.audit.lines.at(-1)!.reason).toMatch(
        /issuer keys unavailable: http:\/\/127\.0\.0\.1:\d+\/jwks: timed out after 500 ms$/,
      );

      const fetchesBefore = idp.stats.jwksRequests;
      const second = await exchangeWith(unknown);
      expect(idp.stats.jwksRequests).toBe(fetchesBefore); // the cooldown answers without going upstream
      expect(second.body.error_description).toBe(
        'subject_token cannot be verified: no cached key matches, and issuer keys unavailable',
      );
      expect(sts.audit.lines.at(-1)!.reason).toMatch(
        /issuer keys unavailable: http:\/\/127\.0\.0\.1:\d+\/jwks: timed out after 500 ms$/,
      );
    } finally {
      idp.setJwksMode('ok');
    }
  });

  it('recovers once the endpoint is back and the cooldown has passed', async () => {
    await pastCooldown();
    const token = await idp.clientCredentialsToken('agent-1', { resource: stsIssuer });
    expect((await exchangeWith(token)).status).toBe(200);
  });
});
