import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { freePort } from '../support/free-port.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { describeWithRedis, REDIS_TEST_URL } from '../support/redis.js';

const describeRedis = await describeWithRedis();

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of the tokens actbridge issued, over real HTTP,
 * with openid-client as the resource server / client, and revocation shared across instances in Redis.
 */

const STS_AUD = 'urn:actbridge:test';
const API = 'https://api.example';
const SECRET = 'client-secret-0123456789';

const clients = [
  basicClient('agent', SECRET, { audiences: [API, 'agent-2'], scopes: ['read', 'write'] }),
  basicClient('agent-2', SECRET, { audiences: [API], scopes: ['read', 'write'] }),
  basicClient('other', SECRET, { audiences: [API], scopes: ['read'] }),
  // A resource server: may not use the token endpoint, may introspect tokens addressed to it.
  {
    client_id: 'api',
    token_endpoint_auth_method: 'client_secret_post',
    client_secret: SECRET,
    grant_types: [],
    audiences: [],
    resource_audiences: [API],
  },
  basicClient('short', SECRET, { audiences: [API], scopes: ['read'], token_ttl: 1 }),
];

let sts: TestApp;
let idp: TestIssuer;

const basic = (id: string) => ({ basic: [id, SECRET] as [string, string] });

async function issue(clientId = 'agent', extra: Record<string, string> = {}): Promise<string> {
  const res = await postToken(
    sts,
    {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: await idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read write' }),
      subject_token_type: TT.accessToken,
      audience: API,
      scope: 'read',
      ...extra,
    },
    basic(clientId),
  );
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

/** POSTs a form to an endpoint of `app` with Basic auth (or none). */
async function post(
  app: TestApp,
  path: string,
  form: Record<string, string>,
  clientId: string | undefined,
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> | undefined }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (clientId) headers.authorization = `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}`;
  const response = await fetch(`${app.baseUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
const introspect = (token: string, clientId: string | undefined, app = sts) =>
  post(app, '/oauth/introspect', { token }, clientId);
/** The resource server `api` authenticates with client_secret_post. */
const introspectAsApi = (token: string) =>
  post(sts, '/oauth/introspect', { token, client_id: 'api', client_secret: SECRET }, undefined);
const revoke = (token: string, clientId: string | undefined, app = sts) =>
  post(app, '/oauth/revoke', { token }, clientId);

/** openid-client configured for `clientId` through discovery, as a resource server or client would be. */
function rp(clientId: string, auth: client.ClientAuth = client.ClientSecretBasic(SECRET)) {
  return client.discovery(new URL(sts.issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
}

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  sts = await startTestApp({
    anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] } },
    clients,
  });
});

afterAll(async () => {
  await sts?.close();
});

describe('metadata', () => {
  it('advertises the introspection and revocation endpoints and their client authentication', async () => {
    const metadata = (await rp('agent')).serverMetadata();
    expect(metadata).toMatchObject({
      introspection_endpoint: `${sts.issuer}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      revocation_endpoint: `${sts.issuer}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    });
    expect(metadata.introspection_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
  });
});

describe('method', () => {
  it.each([
    ['/oauth/introspect', 'introspection'],
    ['/oauth/revoke', 'revocation'],
  ])('%s answers 405 with Allow: POST to other methods', async (path, name) => {
    const response = await fetch(`${sts.baseUrl}${path}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: `the ${name} endpoint accepts POST only`,
    });
  });
});

describe('introspection (RFC 7662)', () => {
  it('an active token, introspected by the resource server it is addressed to (openid-client)', async () => {
    const token = await issue();
    const result = await client.tokenIntrospection(await rp('api', client.ClientSecretPost(SECRET)), token);
    const claims = claimsOf(token);
    expect(result).toEqual({
      active: true,
      iss: sts.issuer,
      sub: 'alice',
      sub_id: { format: 'iss_sub', iss: idp.issuer, sub: 'alice' },
      aud: API,
      client_id: 'agent',
      scope: 'read',
      act: { sub: 'agent', iss: sts.issuer },
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it('the client it was issued to may introspect it too; the response is no-store', async () => {
    const res = await introspect(await issue(), 'agent');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ active: true, client_id: 'agent' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a client that is not a party to the token learns nothing: {active: false}', async () => {
    const res = await introspect(await issue(), 'other');
    expect({ status: res.status, json: res.json }).toEqual({ status: 200, json: { active: false } });
  });

  it('a DPoP-bound token: cnf and token_type DPoP (RFC 9449 §6.2)', async () => {
    const config = await rp('agent');
    const handle = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const response = await client.genericGrantRequest(
      config,
      GRANT_TOKEN_EXCHANGE,
      {
        subject_token: await idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read' }),
        subject_token_type: TT.accessToken,
        audience: API,
      },
      { DPoP: handle },
    );
    const res = await introspect(response.access_token, 'agent');
    expect(res.json).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: await handle.calculateThumbprint() },
    });
  });

  it('an expired token is inactive', async () => {
    const token = await issue('short');
    const exp = claimsOf(token).exp as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 1) * 1000 - Date.now()) + 100));
    expect((await introspect(token, 'short')).json).toEqual({ active: false });
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['a token from another issuer', 'upstream'],
    ['a tampered token', 'tampered'],
    // RFC 7515 §2: a live token re-encoded with padding or white space is no token actbridge issued.
    ['a live token with a padded signature segment', 'padded'],
    ['a live token with white space in its signature segment', 'spaced'],
  ])('%s is inactive', async (...row) => {
    const [, kind] = row;
    let token = kind;
    if (kind === 'upstream') token = await idp.mint({ sub: 'alice', aud: API, client_id: 'agent' });
    if (kind === 'padded') token = `${await issue()}==`;
    if (kind === 'spaced') token = (await issue()).replace(/\.([^.]{10})([^.]*)$/, '.$1 $2');
    if (kind === 'tampered') {
      const [h, p, s] = (await issue()).split('.');
      const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'read write admin' };
      token = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    }
    expect((await introspect(token, 'agent')).json).toEqual({ active: false });
  });

  it.each([
    ['no client authentication', undefined, { token: 'x' }, 401, 'invalid_client', 'client authentication required'],
    ['wrong secret', 'wrong', { token: 'x' }, 401, 'invalid_client', 'client authentication failed'],
    ['no token', 'agent', {}, 400, 'invalid_request', 'token is required'],
  ] as const)('%s: %s %s', async (...row) => {
    const [, clientId, form, status, error, description] = row;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (clientId) {
      const secret = clientId === 'wrong' ? 'wrong-secret-000000' : SECRET;
      headers.authorization = `Basic ${Buffer.from(`agent:${secret}`).toString('base64')}`;
    }
    const response = await fetch(`${sts.baseUrl}/oauth/introspect`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form as Record<string, string>),
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status,
      body: { error, error_description: description },
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('a repeated token parameter: 400 invalid_request', async () => {
    const response = await fetch(`${sts.baseUrl}/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`,
      },
      body: 'token=a&token=b',
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'parameter token is repeated' },
    });
  });
});

describe('revocation (RFC 7009)', () => {
  it('the client the token was issued to revokes it (openid-client): inactive afterwards, one audit line', async () => {
    const token = await issue();
    expect((await introspectAsApi(token)).json).toMatchObject({ active: true });
    const before = sts.audit.lines.length;
    await client.tokenRevocation(await rp('agent'), token);
    expect(sts.audit.lines.length).toBe(before + 1);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.revoked',
      client_id: 'agent',
      subject: 'alice',
      jti: claimsOf(token).jti,
      exp: claimsOf(token).exp,
    });
    expect((await introspectAsApi(token)).json).toEqual({ active: false });
    expect((await introspect(token, 'agent')).json).toEqual({ active: false });
    // Revoking again, or revoking garbage, is a plain 200 (§2.2).
    expect((await revoke(token, 'agent')).status).toBe(200);
    expect((await revoke('not-a-token', 'agent')).status).toBe(200);
  });

  it.each([
    ['another client', 'other'],
    ['the resource server it is addressed to', 'api'],
  ])('%s may not revoke it: 400 invalid_request, token stays active', async (...row) => {
    const [, clientId] = row;
    const token = await issue();
    const res =
      clientId === 'api'
        ? await post(sts, '/oauth/revoke', { token, client_id: 'api', client_secret: SECRET }, undefined)
        : await revoke(token, clientId);
    expect({ status: res.status, json: res.json }).toEqual({
      status: 400,
      json: { error: 'invalid_request', error_description: 'client is not authorized to revoke the presented token' },
    });
    expect((await introspect(token, 'agent')).json).toMatchObject({ active: true });
  });

  it('unauthenticated revocation: 401 invalid_client', async () => {
    const res = await revoke(await issue(), undefined);
    expect({ status: res.status, json: res.json }).toEqual({
      status: 401,
      json: { error: 'invalid_client', error_description: 'client authentication required' },
    });
  });

  it.each([
    ['introspection', '/oauth/introspect', 'introspection.refused'],
    ['revocation', '/oauth/revoke', 'revocation.refused'],
  ])('a client refused at %s authentication: one audit line at step client_authentication', async (...row) => {
    const [, path, event] = row;
    const before = sts.audit.lines.length;
    const res = await post(sts, path, { token: 'x', client_id: 'agent', client_secret: 'wrong' }, undefined);
    expect(res.status).toBe(401);
    expect(sts.audit.lines.length).toBe(before + 1);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event,
      client_id: 'agent',
      client_authenticated: false,
      error: 'invalid_client',
      step: 'client_authentication',
      reason: 'client is registered for client_secret_basic, used client_secret_post',
    });
  });

  it('an expired token: nothing to revoke, 200', async () => {
    const token = await issue('short');
    const exp = claimsOf(token).exp as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 1) * 1000 - Date.now()) + 100));
    const res = await revoke(token, 'short');
    expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: '' });
  });

  it('a revoked token can no longer be exchanged (subject_token): 400 invalid_request', async () => {
    const token = await issue('agent', { audience: 'agent-2' });
    const hop2 = {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: token,
      subject_token_type: TT.accessToken,
      audience: API,
    };
    expect((await postToken(sts, hop2, basic('agent-2'))).status).toBe(200);
    expect((await revoke(token, 'agent')).status).toBe(200);
    const before = sts.audit.lines.length;
    const res = await postToken(sts, hop2, basic('agent-2'));
    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'subject_token has been revoked' },
    });
    expect(sts.audit.lines.length).toBe(before + 1);
    expect(sts.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', error: 'invalid_request' });
  });
});

describeRedis('revocation shared between instances through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  let keyDir: string;
  beforeAll(async () => {
    // Both instances serve one issuer with the same signing key, as behind a load balancer.
    keyDir = mkdtempSync(join(tmpdir(), 'actbridge-keys-'));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(join(keyDir, 'key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'shared' }));
    const options = {
      anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] } },
      clients,
      env: {
        REDIS_URL: REDIS_TEST_URL,
        // On a busy machine a slow answer is not an outage (the default bound is 1 s).
        REDIS_TIMEOUT_MS: '10000',
        ISSUER: `http://127.0.0.1:${await freePort()}`,
        SIGNING_KEYS: join(keyDir, 'key.json'),
      },
    };
    a = await startTestApp(options);
    b = await startTestApp(options);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('a token revoked at instance A is inactive at instance B', async () => {
    const res = await postToken(
      a,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: await idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read' }),
        subject_token_type: TT.accessToken,
        audience: API,
      },
      basic('agent'),
    );
    expect(res.status).toBe(200);
    const token = res.body.access_token as string;
    expect((await introspect(token, 'agent', b)).json).toMatchObject({ active: true });
    expect((await revoke(token, 'agent', a)).status).toBe(200);
    expect((await introspect(token, 'agent', b)).json).toEqual({ active: false });
  });
});
