import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import * as client from 'openid-client';
import { accessTokenHash } from '../../src/dpop/dpop-proof.js';
import {
  createActbridgeVerifier,
  actbridgeHook,
  type AccessTokenError,
  type ActbridgeVerifier,
} from '../../src/verify/index.js';
import { ActbridgeGuard } from '../../src/verify/nest.js';
import { freePort } from '../support/free-port.js';
import { jsonRequest } from '../support/node-request.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * The consuming side end to end: resource servers (a Fastify app with actbridgeHook, a Nest app with
 * ActbridgeGuard) verify actbridge tokens over HTTP with the verify helper, which discovers actbridge
 * from its metadata. Clients are openid-client (DPoP included); tokens with and without chains,
 * attestation and bindings; revocation through introspection.
 */

const STS_AUD = 'urn:actbridge:test';
const API = 'https://api.example';
const SECRET = 'client-secret-0123456789';
const GITHUB = 'github-actions';

let sts: TestApp;
let idp: TestIssuer;
let ci: TestIssuer;
let rs: FastifyInstance;
let rsUrl: string;
let nest: NestFastifyApplication;
let nestUrl: string;
let verifier: ActbridgeVerifier;
let revocationAware: ActbridgeVerifier;

const basic = (id: string) => ({ basic: [id, SECRET] as [string, string] });
const userToken = () => idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read write' });

async function exchange(clientId: string, form: Record<string, string>): Promise<string> {
  const res = await postToken(
    sts,
    { grant_type: GRANT_TOKEN_EXCHANGE, subject_token_type: TT.accessToken, ...form },
    basic(clientId),
  );
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    ...(response.headers.has('dpop-nonce') ? { dpopNonce: response.headers.get('dpop-nonce')! } : {}),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

/** The resource server's refusal: exactly this status and RFC 6750 §3.1 error body. */
function expectRefusal(res: Awaited<ReturnType<typeof get>>, status: number, error: string, description: string) {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { error, error_description: description } });
}

function agentConfig(): Promise<client.Configuration> {
  return client.discovery(new URL(sts.issuer), 'agent', undefined, client.ClientSecretBasic(SECRET), {
    execute: [client.allowInsecureRequests],
  });
}

/** What the routes answer: the verified token as a resource server would log it. */
const view = (token: NonNullable<import('fastify').FastifyRequest['actbridge']>) => ({
  subject: token.subject,
  subjectIssuer: token.subjectIssuer,
  actor: token.actor ?? null,
  chain: token.chain,
  scopes: token.scopes,
  clientId: token.clientId,
  jkt: token.jkt ?? null,
});

/** A Nest resource server guarded by ActbridgeGuard (built once the verifier exists). */
function nestResourceModule(guardVerifier: ActbridgeVerifier) {
  @Controller()
  class NestToolsController {
    @Get('/nest/tools')
    @UseGuards(new ActbridgeGuard(guardVerifier, { audience: API, scopes: ['read'] }))
    tools(@Req() request: { actbridge: Parameters<typeof view>[0] }) {
      return view(request.actbridge);
    }
  }

  @Module({ controllers: [NestToolsController] })
  class NestResourceModule {}
  return NestResourceModule;
}

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  ci = await createTestIssuer('https://token.actions.example');
  sts = await startTestApp({
    anchors: {
      idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] },
      ci: { issuer: ci.issuer, jwks: ci.publicJwks, audiences: [STS_AUD], attestation: GITHUB },
    },
    clients: [
      basicClient('agent', SECRET, { audiences: [API, 'agent-2'], scopes: ['read', 'write'] }),
      basicClient('agent-2', SECRET, { audiences: [API], scopes: ['read', 'write'] }),
      basicClient('imp', SECRET, { audiences: [API], scopes: ['read'], impersonation: true }),
      basicClient('short', SECRET, { audiences: [API], scopes: ['read'], token_ttl: 1 }),
      // The resource server's own registration, for introspection.
      basicClient('api', SECRET, { grant_types: [], audiences: [], resource_audiences: [API] }),
      // Another resource server's, registered for client_secret_post.
      basicClient('api-post', SECRET, {
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: [],
        audiences: [],
        resource_audiences: [API],
      }),
    ],
  });

  verifier = createActbridgeVerifier({ issuer: sts.issuer, audience: API, allowInsecureRequests: true });
  revocationAware = createActbridgeVerifier({
    issuer: sts.issuer,
    audience: API,
    allowInsecureRequests: true,
    introspection: { clientId: 'api', clientSecret: SECRET },
  });

  const port = await freePort();
  rsUrl = `http://127.0.0.1:${port}`;
  rs = Fastify();
  // RFC 9728: the resource advertises actbridge as its authorization server.
  rs.get('/.well-known/oauth-protected-resource', async () => ({
    resource: API,
    authorization_servers: [sts.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: ['read', 'write'],
    dpop_signing_alg_values_supported: verifier.dpopAlgorithms,
  }));
  const resourceMetadata = `${rsUrl}/.well-known/oauth-protected-resource`;
  rs.get('/tools', { onRequest: actbridgeHook(verifier, { scopes: ['read'], resourceMetadata }) }, async (request) =>
    view(request.actbridge!),
  );
  rs.get('/admin', { onRequest: actbridgeHook(verifier, { scopes: ['admin'], resourceMetadata }) }, async (request) =>
    view(request.actbridge!),
  );
  // Behind a proxy: proofs name the public URL, whatever the request-target says.
  rs.get('/pinned', { onRequest: actbridgeHook(verifier, { scopes: ['read'], publicUrl: API }) }, async (request) =>
    view(request.actbridge!),
  );
  // RFC 9470: routes that need a stronger or a recent login.
  rs.get(
    '/mfa',
    { onRequest: actbridgeHook(verifier, { scopes: ['read'], acrValues: ['urn:loa:mfa'], resourceMetadata }) },
    async (request) => ({ acr: request.actbridge!.acr, authTime: request.actbridge!.authTime }),
  );
  rs.get(
    '/fresh',
    { onRequest: actbridgeHook(verifier, { scopes: ['read'], maxAge: 60, resourceMetadata }) },
    async (request) => ({ acr: request.actbridge!.acr, authTime: request.actbridge!.authTime }),
  );
  // RFC 9728 dpop_bound_access_tokens_required: true, enforced.
  rs.get(
    '/dpop-only',
    { onRequest: actbridgeHook(verifier, { scopes: ['read'], dpopBoundRequired: true, resourceMetadata }) },
    async (request) => view(request.actbridge!),
  );
  rs.get('/revocable', { onRequest: actbridgeHook(revocationAware, { scopes: ['read'] }) }, async (request) =>
    view(request.actbridge!),
  );
  // RFC 9449 §9: proofs must carry a nonce of this resource server's.
  const nonceVerifier = createActbridgeVerifier({
    issuer: sts.issuer,
    audience: API,
    allowInsecureRequests: true,
    dpopNonce: { secret: 'a resource server secret of 32+ bytes, shared' },
  });
  rs.get('/nonce', { onRequest: actbridgeHook(nonceVerifier, { scopes: ['read'] }) }, async (request) =>
    view(request.actbridge!),
  );
  await rs.listen({ port, host: '127.0.0.1' });

  const nestPort = await freePort();
  nestUrl = `http://127.0.0.1:${nestPort}`;
  nest = await NestFactory.create<NestFastifyApplication>(nestResourceModule(verifier), new FastifyAdapter(), {
    logger: false,
  });
  await nest.listen({ port: nestPort, host: '127.0.0.1' });
});

afterAll(async () => {
  await nest?.close();
  await rs?.close();
  await sts?.close();
});

describe('Bearer tokens', () => {
  it('impersonation: no chain; subject, scopes and client', async () => {
    const token = await exchange('imp', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}` });
    expect(res).toEqual({
      status: 200,
      challenge: null,
      body: {
        subject: 'alice',
        subjectIssuer: idp.issuer,
        actor: null,
        chain: [],
        scopes: ['read'],
        clientId: 'imp',
        jkt: null,
      },
    });
  });

  it('a delegation chain with an attested actor: current actor first, attested_by on the CI actor', async () => {
    const workload = 'repo:example/app:ref:refs/heads/main';
    const before = sts.audit.lines.length;
    const hop1 = await exchange('agent', {
      subject_token: await userToken(),
      actor_token: await ci.mint({ sub: workload, aud: STS_AUD }, { typ: 'JWT' }),
      actor_token_type: TT.jwt,
      audience: 'agent-2',
    });
    // The audit line says which platform vouched for the actor.
    expect(sts.audit.lines[before]).toMatchObject({
      event: 'token.issued',
      actors: [{ sub: workload, iss: ci.issuer, attested_by: GITHUB }],
    });
    expect(claimsOf(hop1).act).toEqual({ sub: workload, iss: ci.issuer, attested_by: GITHUB });

    const hop2 = await exchange('agent-2', { subject_token: hop1, audience: API, scope: 'read' });
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${hop2}` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      subject: 'alice',
      subjectIssuer: idp.issuer,
      actor: { sub: 'agent-2', iss: sts.issuer },
      chain: [
        { sub: 'agent-2', iss: sts.issuer },
        { sub: workload, iss: ci.issuer, attested_by: GITHUB },
      ],
      scopes: ['read'],
      clientId: 'agent-2',
      jkt: null,
    });
  });

  it('an actor from an anchor without attestation has no attested_by', async () => {
    const token = await exchange('agent', {
      subject_token: await userToken(),
      actor_token: await idp.mint({ sub: 'bot', aud: STS_AUD }, { typ: 'JWT' }),
      actor_token_type: TT.jwt,
      audience: API,
    });
    expect(claimsOf(token).act).toEqual({ sub: 'bot', iss: idp.issuer });
  });

  it('the Nest guard accepts the same token, and refuses a request without one', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const ok = await get(`${nestUrl}/nest/tools`, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ subject: 'alice', actor: { sub: 'agent' }, clientId: 'agent' });
    const none = await get(`${nestUrl}/nest/tools`);
    expect(none.status).toBe(401);
    expect(none.challenge).toBe(`Bearer, DPoP algs="${verifier.dpopAlgorithms.join(' ')}"`);
    const bad = await get(`${nestUrl}/nest/tools`, { authorization: `Bearer ${token}x` });
    expectRefusal(bad, 401, 'invalid_token', 'token signature is invalid');
    expect(bad.challenge).toBe('Bearer error="invalid_token", error_description="token signature is invalid"');
  });
});

describe('refusals at the resource server', () => {
  it('no token: 401 with a bare challenge naming the resource metadata (RFC 6750 §3.1, RFC 9728 §5.1)', async () => {
    const res = await get(`${rsUrl}/tools`);
    expect(res.status).toBe(401);
    expect(res.challenge).toBe(
      `Bearer resource_metadata="${rsUrl}/.well-known/oauth-protected-resource", ` +
        `DPoP algs="${verifier.dpopAlgorithms.join(' ')}", resource_metadata="${rsUrl}/.well-known/oauth-protected-resource"`,
    );
  });

  it('a token for another audience: 401 invalid_token', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: 'agent-2' });
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}` });
    expectRefusal(res, 401, 'invalid_token', 'token is not addressed to this resource (aud)');
  });

  it('missing scope: 403 insufficient_scope with the scope needed', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/admin`, { authorization: `Bearer ${token}` });
    expectRefusal(res, 403, 'insufficient_scope', 'token lacks scope admin');
    expect(res.challenge).toBe(
      `Bearer error="insufficient_scope", error_description="token lacks scope admin", scope="admin", ` +
        `resource_metadata="${rsUrl}/.well-known/oauth-protected-resource"`,
    );
  });

  it('a token from another issuer: 401 invalid_token', async () => {
    const foreign = await idp.mint({ sub: 'alice', aud: API, client_id: 'agent', scope: 'read' });
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${foreign}` });
    // Refused at the signature: actbridge's JWKS has no key of another issuer.
    expectRefusal(res, 401, 'invalid_token', 'token is signed with a key the issuer does not publish');
  });

  it('a live token with a padded signature segment: 401 invalid_token (RFC 7515 §2)', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}==` });
    expectRefusal(res, 401, 'invalid_token', 'token is not a well-formed JWT');
  });

  it('an expired token: 401 invalid_token', async () => {
    const token = await exchange('short', { subject_token: await userToken(), audience: API });
    const exp = claimsOf(token).exp as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 6) * 1000 - Date.now()) + 100));
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}` });
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'token has expired' });
  }, 20000);

  it('a malformed Authorization header: 400 invalid_request', async () => {
    const res = await get(`${rsUrl}/tools`, { authorization: 'Bearer abc def' });
    expectRefusal(res, 400, 'invalid_request', "Authorization must be 'Bearer <token>' or 'DPoP <token>'");
  });

  it('step-up (RFC 9470): the login behind the token, carried from the user token, decides; else 401 with what would do', async () => {
    const now = Math.floor(Date.now() / 1000);
    const exchangeFor = async (claims: Record<string, unknown>) =>
      exchange('agent', {
        subject_token: await idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read write', ...claims }),
        audience: API,
      });
    const strong = await exchangeFor({ acr: 'urn:loa:mfa', amr: ['pwd', 'otp'], auth_time: now - 10 });
    expect(claimsOf(strong)).toMatchObject({ acr: 'urn:loa:mfa', amr: ['pwd', 'otp'], auth_time: now - 10 });
    for (const path of ['/mfa', '/fresh']) {
      const res = await get(`${rsUrl}${path}`, { authorization: `Bearer ${strong}` });
      expect([res.status, res.body]).toEqual([200, { acr: 'urn:loa:mfa', authTime: now - 10 }]);
    }

    const weak = await exchangeFor({ acr: 'urn:loa:pwd', auth_time: now - 3600 });
    const mfa = await get(`${rsUrl}/mfa`, { authorization: `Bearer ${weak}` });
    expectRefusal(mfa, 401, 'insufficient_user_authentication', 'a stronger authentication is required');
    expect(mfa.challenge).toBe(
      'Bearer error="insufficient_user_authentication", error_description="a stronger authentication is required", ' +
        `acr_values="urn:loa:mfa", resource_metadata="${rsUrl}/.well-known/oauth-protected-resource"`,
    );
    const stale = await get(`${rsUrl}/fresh`, { authorization: `Bearer ${weak}` });
    expectRefusal(stale, 401, 'insufficient_user_authentication', 'a more recent authentication is required');
    expect(stale.challenge).toContain('max_age="60"');

    // A token that says nothing of the login satisfies neither.
    const silent = await exchangeFor({});
    for (const path of ['/mfa', '/fresh']) {
      expect((await get(`${rsUrl}${path}`, { authorization: `Bearer ${silent}` })).status).toBe(401);
    }
  });

  it('a token in the query, beside a valid header: 400 invalid_request (RFC 6750 §2, §2.3)', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/tools?access_token=${token}`, { authorization: `Bearer ${token}` });
    expectRefusal(
      res,
      400,
      'invalid_request',
      'access tokens are not accepted in the URL; send the token in the Authorization header',
    );
  });

  it('another scheme (Basic): 401 with a bare challenge, as without credentials (RFC 6750 §3.1)', async () => {
    const res = await get(`${rsUrl}/tools`, { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error_description: 'access token required' });
    expect(res.challenge).toBe(
      `Bearer resource_metadata="${rsUrl}/.well-known/oauth-protected-resource", ` +
        `DPoP algs="${verifier.dpopAlgorithms.join(' ')}", resource_metadata="${rsUrl}/.well-known/oauth-protected-resource"`,
    );
  });
});

describe('two Authorization headers', () => {
  /** GET with these raw header lines, repeated names kept (fetch would join them into one). */
  const getRawHeaders = (url: string, lines: Array<[string, string]>) =>
    new Promise<{ status: number; challenge: string | undefined; body: unknown }>((resolve, reject) => {
      const target = new URL(url);
      const request = httpRequest(url, {
        headers: [['host', target.host], ...lines, ['connection', 'close']].flat(),
      });
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            challenge: response.headers['www-authenticate'],
            body: JSON.parse(text),
          }),
        );
      });
      request.on('error', reject).end();
    });

  it('a valid token then another: 400 invalid_request, not the first one read (RFC 9110 §11.6.2)', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    for (const url of [`${rsUrl}/tools`, `${nestUrl}/nest/tools`]) {
      const res = await getRawHeaders(url, [
        ['authorization', `Bearer ${token}`],
        ['authorization', 'Bearer other'],
      ]);
      expect(res).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', error_description: 'send exactly one Authorization header' },
      });
      expect(res.challenge).toMatch(
        /^Bearer error="invalid_request", error_description="send exactly one Authorization header"/,
      );
    }
  });
});

describe('DPoP-bound tokens at the resource server', () => {
  let config: client.Configuration;
  let handle: client.DPoPHandle;
  let keyPair: { privateKey: CryptoKey; publicKey: CryptoKey };
  let token: string;

  beforeAll(async () => {
    config = await agentConfig();
    keyPair = await client.randomDPoPKeyPair('ES256');
    handle = client.getDPoPHandle(config, keyPair);
    const response = await client.genericGrantRequest(
      config,
      GRANT_TOKEN_EXCHANGE,
      { subject_token: await userToken(), subject_token_type: TT.accessToken, audience: API, scope: 'read' },
      { DPoP: handle },
    );
    token = response.access_token;
  });

  /** GET `path` on node:http, sent as given (a raw request-target; with `setHost` false, a raw Host). */
  const rawGet = (path: string, headers: Record<string, string>, setHost: boolean) =>
    jsonRequest(
      (onResponse) => httpRequest(rsUrl, { path, setHost, headers: { ...headers, connection: 'close' } }, onResponse),
      '',
    ).then(({ status, json }) => ({ status, body: json as unknown }));

  /** A proof for GET `url` by a fresh key (not the bound one) or the bound key, with overrides. */
  async function foreignProof(
    url: string,
    claims: Record<string, unknown> = {},
    key?: { privateKey: CryptoKey; publicKey: CryptoKey },
  ) {
    const { privateKey, publicKey } = key ?? (await generateKeyPair('ES256'));
    return new SignJWT({
      jti: randomUUID(),
      htm: 'GET',
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: accessTokenHash(token),
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
  }

  it('openid-client calls the resource with the DPoP scheme and a proof (ath, htm, htu): accepted', async () => {
    const response = await client.fetchProtectedResource(
      config,
      token,
      new URL(`${rsUrl}/tools`),
      'GET',
      undefined,
      undefined,
      {
        DPoP: handle,
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      subject: 'alice',
      actor: { sub: 'agent' },
      jkt: await handle.calculateThumbprint(),
    });
  });

  it('the same token sent as Bearer: 401 invalid_token (RFC 9449 §7.2)', async () => {
    const res = await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}` });
    expectRefusal(res, 401, 'invalid_token', 'token is DPoP-bound: send it with the DPoP scheme');
    // The challenge names DPoP as well: a client that saw only Bearer could keep downgrading.
    const metadata = `resource_metadata="${rsUrl}/.well-known/oauth-protected-resource"`;
    expect(res.challenge).toBe(
      `Bearer error="invalid_token", error_description="token is DPoP-bound: send it with the DPoP scheme", ` +
        `${metadata}, DPoP algs="${verifier.dpopAlgorithms.join(' ')}", ${metadata}`,
    );
  });

  it('DPoP scheme without a proof: 401 invalid_dpop_proof with a DPoP challenge', async () => {
    const res = await get(`${rsUrl}/tools`, { authorization: `DPoP ${token}` });
    expectRefusal(res, 401, 'invalid_dpop_proof', 'token is DPoP-bound: a DPoP proof is required');
    expect(res.challenge).toMatch(/^DPoP error="invalid_dpop_proof", .*algs="ES256 /);
  });

  it('a proof by another key than cnf.jkt: 401 invalid_dpop_proof', async () => {
    const res = await get(`${rsUrl}/tools`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/tools`),
    });
    expectRefusal(res, 401, 'invalid_dpop_proof', 'DPoP proof key does not match the token binding (cnf.jkt)');
  });

  it('a proof for another URL or without ath: 401 invalid_dpop_proof', async () => {
    const wrongUrl = await get(`${rsUrl}/tools`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/admin`),
    });
    expect(wrongUrl.body).toEqual({
      error: 'invalid_dpop_proof',
      error_description: `DPoP proof htu must be ${rsUrl}/tools`,
    });
    const noAth = await get(`${rsUrl}/tools`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/tools`, { ath: undefined }),
    });
    expect(noAth.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof ath claim is missing' });
  });

  it('an absolute-form request-target cannot name another origin for htu', async () => {
    /** GET with this raw request-target (Node sends it as given, as a proxy client would). */
    const getTarget = (target: string, dpop: string) => rawGet(target, { authorization: `DPoP ${token}`, dpop }, true);
    // A proof the client made for another server (same path), replayed here with that server's URL as
    // the request-target: Fastify routes `https://other.example/pinned` to /pinned.
    const other = 'https://other.example';
    const absolute = await getTarget(`${other}/pinned`, await foreignProof(`${other}/pinned`, {}, keyPair));
    expect(absolute).toEqual({
      status: 401,
      body: { error: 'invalid_dpop_proof', error_description: `DPoP proof htu must be ${API}/pinned` },
    });
    // The absolute form itself is fine: only its path counts, against this resource's public URL.
    const own = await getTarget(`${other}/pinned`, await foreignProof(`${API}/pinned`, {}, keyPair));
    expect(own.status).toBe(200);
  });

  it('a Host header carrying a path cannot move htu to another path: 400 invalid_request (RFC 9112 §3.2)', async () => {
    /** GET `path` with this raw Host header (Node sends it as given). */
    const getWithHost = (path: string, host: string, dpop: string) =>
      rawGet(path, { host, authorization: `DPoP ${token}`, dpop }, false);
    // A proof made for GET /tools, sent to GET /dpop-only: the origin rebuilt from `Host: <rs>/tools#`
    // was http://<rs>/tools#/dpop-only, whose htu (no fragment) is http://<rs>/tools.
    const authority = new URL(rsUrl).host;
    for (const host of [`${authority}/tools#`, `${authority}/tools?`]) {
      const res = await getWithHost('/dpop-only', host, await foreignProof(`${rsUrl}/tools`, {}, keyPair));
      expect(res).toEqual({
        status: 400,
        body: { error: 'invalid_request', error_description: 'Host header must be a host and an optional port' },
      });
    }
    const own = await getWithHost('/dpop-only', authority, await foreignProof(`${rsUrl}/dpop-only`, {}, keyPair));
    expect(own.status).toBe(200);
  });

  it('a replayed proof: 401 invalid_dpop_proof', async () => {
    const proof = await foreignProof(`${rsUrl}/tools`, {}, keyPair);
    const first = await get(`${rsUrl}/tools`, { authorization: `DPoP ${token}`, dpop: proof });
    expect(first.status).toBe(200);
    const replay = await get(`${rsUrl}/tools`, { authorization: `DPoP ${token}`, dpop: proof });
    expectRefusal(replay, 401, 'invalid_dpop_proof', 'DPoP proof has already been used (jti replay)');
  });

  it('a dpopReplay store that cannot answer: 503 temporarily_unavailable, never accepted, the cause only in the detail', async () => {
    const down = createActbridgeVerifier({
      issuer: sts.issuer,
      audience: API,
      allowInsecureRequests: true,
      dpopReplay: { consume: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379')) },
    });
    const url = `${rsUrl}/tools`;
    const dpop = { proof: await foreignProof(url, {}, keyPair), method: 'GET', url };
    const refusal = await down.verify(token, { scheme: 'DPoP', dpop }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ error: 'temporarily_unavailable', status: 503 });
    expect((refusal as AccessTokenError).toJSON()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'cannot verify DPoP proof single use right now; retry later',
    });
    expect((refusal as AccessTokenError).detail).toBe('dpopReplay: connect ECONNREFUSED 10.0.0.7:6379');
  });

  it('a resource requiring DPoP-bound tokens (RFC 9728 §2): a bearer token is refused, a bound one accepted', async () => {
    const bearer = await exchange('agent', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/dpop-only`, { authorization: `Bearer ${bearer}` });
    expectRefusal(res, 401, 'invalid_token', 'this resource accepts DPoP-bound tokens only');
    expect(res.challenge).toMatch(/^Bearer error="invalid_token", .*, DPoP algs="ES256 /);
    const bound = await get(`${rsUrl}/dpop-only`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/dpop-only`, {}, keyPair),
    });
    expect(bound.status).toBe(200);
  });

  it('a resource requiring its DPoP nonce (RFC 9449 §9): openid-client is told use_dpop_nonce, then retries with it', async () => {
    // A client that has no nonce of this server yet (a new handle), seen through its fetch.
    const seen: Array<{ status: number; nonce: string | null; challenge: string | null }> = [];
    const recording = await agentConfig();
    recording[client.customFetch] = async (url, options) => {
      const response = await fetch(url, options);
      seen.push({
        status: response.status,
        nonce: response.headers.get('dpop-nonce'),
        challenge: response.headers.get('www-authenticate'),
      });
      return response;
    };
    const response = await client.fetchProtectedResource(
      recording,
      token,
      new URL(`${rsUrl}/nonce`),
      'GET',
      undefined,
      undefined,
      { DPoP: client.getDPoPHandle(recording, keyPair) },
    );
    // openid-client read the challenge, kept the DPoP-Nonce header's nonce and retried with it once.
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ subject: 'alice' });
    expect(seen).toEqual([
      {
        status: 401,
        nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        challenge: expect.stringMatching(/^DPoP error="use_dpop_nonce"/),
      },
      { status: 200, nonce: seen[0]!.nonce, challenge: null },
    ]);
  });

  it('a proof without the nonce, or with another, is refused with the current nonce in DPoP-Nonce', async () => {
    const without = await get(`${rsUrl}/nonce`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/nonce`, {}, keyPair),
    });
    expectRefusal(without, 401, 'use_dpop_nonce', 'DPoP proof must carry the nonce of the DPoP-Nonce header');
    expect(without.challenge).toMatch(/^DPoP error="use_dpop_nonce", /);
    expect(without.dpopNonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const forged = await get(`${rsUrl}/nonce`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/nonce`, { nonce: 'not-a-nonce-of-this-server' }, keyPair),
    });
    expectRefusal(
      forged,
      401,
      'use_dpop_nonce',
      'DPoP proof nonce is not current; use the nonce of the DPoP-Nonce header',
    );
    const current = await get(`${rsUrl}/nonce`, {
      authorization: `DPoP ${token}`,
      dpop: await foreignProof(`${rsUrl}/nonce`, { nonce: without.dpopNonce }, keyPair),
    });
    expect(current.status).toBe(200);
    // A bearer token needs no proof, so no nonce; the header still offers one.
    const bearer = await exchange('agent', { subject_token: await userToken(), audience: API });
    const plain = await get(`${rsUrl}/nonce`, { authorization: `Bearer ${bearer}` });
    expect(plain.status).toBe(200);
    expect(plain.dpopNonce).toBe(without.dpopNonce);
  });

  it('refuses a nonce secret shorter than 32 bytes, or a window out of bounds, when the verifier is made', () => {
    expect(() => createActbridgeVerifier({ issuer: sts.issuer, dpopNonce: { secret: 'short' } })).toThrow(
      'ActbridgeVerifier: dpopNonce.secret must be a string or bytes of at least 32 bytes',
    );
    expect(() =>
      createActbridgeVerifier({ issuer: sts.issuer, dpopNonce: { secret: 'x'.repeat(32), window: 0 } }),
    ).toThrow('ActbridgeVerifier: dpopNonce.window must be a number of seconds from 10 to 3600');
  });

  it('an unbound token with the DPoP scheme: 401 invalid_token', async () => {
    const bearer = await exchange('agent', { subject_token: await userToken(), audience: API });
    const res = await get(`${rsUrl}/tools`, { authorization: `DPoP ${bearer}` });
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'token is not DPoP-bound; use Bearer' });
    // Where only bound tokens are accepted, 'use Bearer' would send the client to another refusal.
    const only = await get(`${rsUrl}/dpop-only`, {
      authorization: `DPoP ${bearer}`,
      dpop: await foreignProof(`${rsUrl}/dpop-only`, { ath: accessTokenHash(bearer) }, keyPair),
    });
    expectRefusal(only, 401, 'invalid_token', 'this resource accepts DPoP-bound tokens only');
    expect(only.challenge).toMatch(/^DPoP error="invalid_token", .*algs="ES256 /);
  });
});

describe('revocation through introspection', () => {
  it('a revoked token is refused by a verifier that checks revocation', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    expect((await get(`${rsUrl}/revocable`, { authorization: `Bearer ${token}` })).status).toBe(200);
    await client.tokenRevocation(await agentConfig(), token);
    const res = await get(`${rsUrl}/revocable`, { authorization: `Bearer ${token}` });
    expectRefusal(res, 401, 'invalid_token', 'token is not active (revoked)');
    // A verifier that does not introspect still accepts it until exp: revocation is opt-in at the RS.
    expect((await get(`${rsUrl}/tools`, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('a resource server registered for client_secret_post introspects with it (authMethod)', async () => {
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const options = { issuer: sts.issuer, audience: API, allowInsecureRequests: true };
    const post = createActbridgeVerifier({
      ...options,
      introspection: { clientId: 'api-post', clientSecret: SECRET, authMethod: 'client_secret_post' },
    });
    await expect(post.verify(token)).resolves.toMatchObject({ subject: 'alice' });
    // With the default (Basic) the same registration is refused by actbridge: 503, never accepted.
    const basicAuth = createActbridgeVerifier({
      ...options,
      introspection: { clientId: 'api-post', clientSecret: SECRET },
    });
    await expect(basicAuth.verify(token)).rejects.toMatchObject({ error: 'temporarily_unavailable', status: 503 });
    await client.tokenRevocation(await agentConfig(), token);
    await expect(post.verify(token)).rejects.toMatchObject({
      error: 'invalid_token',
      description: 'token is not active (revoked)',
    });
  });

  it('actbridge unreachable: 503, never accepted, and the cause only in the detail for the log', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const dead = createActbridgeVerifier({ issuer, audience: API, allowInsecureRequests: true, timeout: 2 });
    const token = await exchange('agent', { subject_token: await userToken(), audience: API });
    const refusal = await dead.verify(token).catch((error: unknown) => error as AccessTokenError);
    expect(refusal).toMatchObject({ error: 'temporarily_unavailable', status: 503 });
    // What the resource server's caller sees names no host nor network error.
    expect((refusal as AccessTokenError).toJSON()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'cannot discover actbridge',
    });
    expect((refusal as AccessTokenError).detail).toMatch(new RegExp(`^${issuer}: `));
  });
});

describe('RFC 9728 protected resource metadata', () => {
  it('a client finds actbridge from the resource metadata and the token verifies for that resource', async () => {
    const prm = (await (await fetch(`${rsUrl}/.well-known/oauth-protected-resource`)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(prm.authorization_servers).toEqual([sts.issuer]);
    const fromMetadata = createActbridgeVerifier({
      issuer: prm.authorization_servers[0]!,
      allowInsecureRequests: true,
    });
    const token = await exchange('agent', { subject_token: await userToken(), audience: prm.resource });
    await expect(fromMetadata.verify(token, { audience: prm.resource, scopes: ['read'] })).resolves.toMatchObject({
      subject: 'alice',
      actor: { sub: 'agent', iss: sts.issuer },
      clientId: 'agent',
    });
  });
});

describe('package exports', () => {
  it('actbridge/verify and actbridge/verify/nest resolve to the built helper', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const v = await import('actbridge/verify'); const n = await import('actbridge/verify/nest');" +
          'console.log(JSON.stringify([typeof v.createActbridgeVerifier, typeof v.actbridgeHook, typeof n.ActbridgeGuard]))',
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function']);
  });
});
