import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient, clientAssertion } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Every refusal of the token endpoint, over real HTTP: exact status, error code and description, the
 * RFC 6749 §5.2 response shape, and exactly one audit line per refusal.
 */

const STS_AUD = 'urn:actbridge:test';
const SECRET = 'agent-secret-0123456789';
const POST_SECRET = 'poster-secret-0123456789';

let sts: TestApp;
let idp: TestIssuer; // ES256, not trusted for chains
let chainIdp: TestIssuer; // trusted for chains
let rsaIdp: TestIssuer; // RS256, for algorithm confusion
let shortIdp: TestIssuer; // max_token_lifetime: 600
let twinIdp: TestIssuer; // publishes a second key under its own kid
let pkjwtKey: CryptoKey;
let pkjwtJwk: JWK;
let pkjwtTwinJwk: JWK;

const exchange = (extra: Record<string, string | readonly string[] | undefined>) => ({
  grant_type: GRANT_TOKEN_EXCHANGE,
  subject_token_type: TT.accessToken,
  audience: 'https://api.example',
  ...extra,
});
const asAgent = { basic: ['agent', SECRET] as [string, string] };

async function userToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, issuer = idp) {
  return issuer.mint({ sub: 'alice', aud: STS_AUD, scope: 'read write', ...claims }, header);
}

/** 2000 minimal header lines (8 kB, within Node's 16 kB of headers). */
const FILLER_LINES: readonly string[] = Array.from({ length: 2000 }, () => 'a:');

/** A table row: name, a function making the hostile input, the expected error_description. */
type MakerRow = [name: string, make: () => Promise<string>, description: string | RegExp];

/** Asserts the RFC 6749 §5.2 error response and the single audit line it leaves. */
async function refused(
  form: Record<string, string | readonly string[] | undefined>,
  init: Parameters<typeof postToken>[2],
  status: number,
  error: string,
  description: string | RegExp,
) {
  return expectTokenRefused(sts, () => postToken(sts, form, init), { status, error, description });
}

/** Agent's token exchange with `extra`, refused 400 with `error`: what most checks below expect. */
function agentRefused(
  extra: Record<string, string | readonly string[] | undefined>,
  error: string,
  description: string | RegExp,
) {
  return refused(exchange(extra), asAgent, 400, error, description);
}

/**
 * Writes `raw` on a plain socket to the STS and resolves to everything read until the server closed the
 * connection; `end`: half-close after writing (else the server must close it by itself).
 */
function rawExchange(raw: string, { end }: { end: boolean }): Promise<string> {
  const url = new URL(sts.issuer);
  return new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => (end ? socket.end(raw) : socket.write(raw)));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

/** A client assertion by client pk; `claims` and `header` override. */
function pkAssertion(claims: Record<string, unknown>, header: Record<string, unknown> = {}, key = pkjwtKey) {
  return clientAssertion(key, { kid: 'pk-1', ...header }, 'pk', sts.issuer, claims);
}

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  chainIdp = await createTestIssuer('https://chain-idp.example');
  rsaIdp = await createTestIssuer('https://rsa-idp.example', 'RS256');
  shortIdp = await createTestIssuer('https://short-idp.example');
  twinIdp = await createTestIssuer('https://twin-idp.example', 'ES256', 'twin');
  const twin = await createTestIssuer('https://twin-idp.example', 'ES256', 'twin');
  const pair = await generateKeyPair('ES256', { extractable: true });
  pkjwtKey = pair.privateKey;
  pkjwtJwk = { ...(await exportJWK(pair.publicKey)), kid: 'pk-1', alg: 'ES256' };
  pkjwtTwinJwk = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'pk-1', alg: 'ES256' };
  const audiences = ['https://api.example', 'https://other.example', 'agent-2', 'a', 'b', 'c', 'd', 'e', 'f'];
  sts = await startTestApp({
    anchors: {
      idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD], algorithms: ['ES256'] },
      chain: { issuer: chainIdp.issuer, jwks: chainIdp.publicJwks, audiences: [STS_AUD], trusted_for_chains: true },
      rsa: { issuer: rsaIdp.issuer, jwks: rsaIdp.publicJwks, audiences: [STS_AUD], algorithms: ['RS256'] },
      short: { issuer: shortIdp.issuer, jwks: shortIdp.publicJwks, audiences: [STS_AUD], max_token_lifetime: 600 },
      twins: {
        issuer: twinIdp.issuer,
        jwks: { keys: [...twinIdp.publicJwks.keys, ...twin.publicJwks.keys] },
        audiences: [STS_AUD],
      },
    },
    clients: [
      basicClient('agent', SECRET, { audiences, scopes: ['read', 'write'] }),
      {
        client_id: 'poster',
        token_endpoint_auth_method: 'client_secret_post',
        client_secret: POST_SECRET,
        audiences,
        scopes: ['read'],
      },
      {
        client_id: 'pk',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pkjwtJwk] },
        audiences,
        scopes: ['read'],
      },
      {
        // Two keys under one kid (a rotation gone wrong): which one is meant is not known.
        client_id: 'pk-twins',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pkjwtJwk, pkjwtTwinJwk] },
        audiences,
        scopes: ['read'],
      },
      basicClient('imp', SECRET, { audiences, scopes: ['read'], impersonation: true }),
      basicClient('disabled', SECRET, { audiences, grant_types: [] }),
    ],
    env: { MAX_BODY_BYTES: '4096', MAX_TARGETS: '3' },
  });
});

afterAll(async () => {
  // Nothing secret ever reaches an audit line.
  const audit = JSON.stringify(sts.audit.lines);
  for (const secret of [SECRET, POST_SECRET]) expect(audit).not.toContain(secret);
  expect(audit).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  await sts.close();
});

describe('request framing', () => {
  it.each([
    ['no grant_type', {}, 400, 'invalid_request', 'grant_type is required'],
    ['unknown grant_type', { grant_type: 'password' }, 400, 'unsupported_grant_type', /^grant_type not supported/],
    [
      'repeated grant_type',
      { grant_type: [GRANT_TOKEN_EXCHANGE, GRANT_TOKEN_EXCHANGE] },
      400,
      'invalid_request',
      'parameter grant_type is repeated',
    ],
  ] as const)('%s', async (_name, form, status, error, description) => {
    await refused(form as Record<string, string | string[]>, asAgent, status, error, description);
  });

  it('refuses JSON bodies', async () => {
    await expectTokenRefused(
      sts,
      async () => {
        const response = await fetch(sts.tokenEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: GRANT_TOKEN_EXCHANGE }),
        });
        return {
          status: response.status,
          headers: response.headers,
          body: (await response.json()) as Record<string, unknown>,
        };
      },
      { error: 'invalid_request', description: 'unsupported content type: use application/x-www-form-urlencoded' },
    );
  });

  it.each(['text/plain', 'multipart/form-data; boundary=x', 'application/xml'])(
    'refuses content type %s',
    async (type) => {
      const response = await fetch(sts.tokenEndpoint, { method: 'POST', headers: { 'content-type': type }, body: 'x' });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_request',
        error_description: 'unsupported content type: use application/x-www-form-urlencoded',
      });
    },
  );

  it('refuses a form declared in a charset other than UTF-8, and audits it', async () => {
    const before = sts.audit.lines.length;
    const form = exchange({ subject_token: await userToken(), scope: 'r\u00e9ad' });
    await refused(
      form,
      { ...asAgent, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' } },
      400,
      'invalid_request',
      'unsupported charset: send the form in UTF-8',
    );
    expect(sts.audit.lines.slice(before)).toEqual([
      expect.objectContaining({
        event: 'token.refused',
        error: 'invalid_request',
        step: 'request',
        reason: 'Content-Type charset "ISO-8859-1" (RFC 6749 Appendix B)',
      }),
    ]);
  });

  it('accepts a form declared UTF-8 in any case', async () => {
    const response = await postToken(sts, exchange({ subject_token: await userToken() }), {
      ...asAgent,
      headers: { 'content-type': 'Application/X-WWW-Form-URLencoded; Charset="UTF-8"' },
    });
    expect(response.status).toBe(200);
  });

  it('answers 413 JSON to an oversized body', async () => {
    await expectTokenRefused(sts, () => postToken(sts, exchange({ subject_token: 'x'.repeat(8000) }), asAgent), {
      status: 413,
      error: 'invalid_request',
      description: 'request body too large',
    });
  });

  it('answers 405 with Allow to other methods', async () => {
    const response = await fetch(sts.tokenEndpoint);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the token endpoint accepts POST only',
    });
  });

  it.each([
    ['TRACE', ''],
    ['PROPFIND', ''],
    ['SEARCH', ''],
    // Fastify refuses a QUERY without Content-Type, and parses a body, before any handler: not a 400 here.
    ['QUERY', ''],
    ['PUT', 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'],
    ['DELETE', 'Content-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n'],
  ])(
    'answers %s at the token endpoint 405 with Allow, whatever its body, and audits it like any other method',
    async (method, rest) => {
      const before = sts.audit.lines.length;
      const head = `${method} /oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
      const text = await rawExchange(rest ? head + rest : `${head}\r\n`, { end: false });
      expect(text.startsWith('HTTP/1.1 405 ')).toBe(true);
      expect(text).toMatch(/\r\nallow: POST\r\n/i);
      expect(text).toMatch(/\r\ncache-control: no-store\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
        error: 'invalid_request',
        error_description: 'the token endpoint accepts POST only',
      });
      expect(sts.audit.lines.slice(before)).toEqual([
        {
          ts: expect.any(String),
          event: 'token.refused',
          outcome: 'refused',
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          client_ip: '127.0.0.1',
          client_authenticated: false,
          trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          latency_ms: expect.any(Number),
          error: 'invalid_request',
          step: 'request',
          reason: 'the token endpoint accepts POST only',
        },
      ]);
    },
  );

  it.each([
    ['/vault/connect', 'vault.connect', 'POST', 'application/json', 'Unsupported Media Type'],
    ['/vault/connect/complete', 'vault.connect_complete', 'POST', 'text/plain', 'Unsupported Media Type'],
    ['/vault/disconnect', 'vault.disconnect', 'GET', undefined, 'the vault disconnect endpoint accepts POST only'],
    [
      '/vault/callback',
      'vault.callback',
      'POST',
      'application/x-www-form-urlencoded',
      'the vault callback endpoint accepts GET only',
    ],
  ])('audits a request to %s refused before its handler, once', async (path, event, method, type, reason) => {
    const before = sts.audit.lines.length;
    const traceId = 'c0ffee'.repeat(5) + '00';
    const response = await fetch(`${sts.baseUrl}${path}`, {
      method,
      headers: {
        ...(type ? { 'content-type': type } : {}),
        'user-agent': 'vault-app/1.0',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      ...(method === 'POST' ? { body: 'connection=github' } : {}),
    });
    expect(response.status).toBe(method === 'GET' || type === 'application/x-www-form-urlencoded' ? 405 : 400);
    expect(sts.audit.lines.slice(before)).toEqual([
      {
        ts: expect.any(String),
        event,
        outcome: 'refused',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client_ip: '127.0.0.1',
        client_authenticated: false,
        user_agent: 'vault-app/1.0',
        trace_id: traceId,
        latency_ms: expect.any(Number),
        error: 'invalid_request',
        reason,
      },
    ]);
  });

  it("writes a vault endpoint's own refusal once, with the fields of every request line", async () => {
    const before = sts.audit.lines.length;
    const response = await fetch(`${sts.baseUrl}/vault/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'vault-app/1.0' },
      body: 'connection=github',
    });
    expect(response.status).toBe(401);
    expect(sts.audit.lines.slice(before)).toEqual([
      {
        ts: expect.any(String),
        event: 'vault.connect',
        outcome: 'refused',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client_ip: '127.0.0.1',
        client_authenticated: false,
        user_agent: 'vault-app/1.0',
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        latency_ms: expect.any(Number),
        error: 'invalid_client',
        reason: 'no client credentials presented',
      },
    ]);
  });

  it.each([
    ['GET', '/.well-known/oauth-authorization-server', 200],
    ['GET', '/.well-known/jwks.json', 200],
    ['GET', '/health/live', 200],
    ['GET', '/nope', 404],
    ['GET', '/oauth/token', 405],
    ['POST', '/oauth/token', 400],
    ['POST', '/oauth/introspect', 401],
  ])('answers %s %s (%d) with nosniff and no server banner', async (method, path, status) => {
    const response = await fetch(`${sts.issuer}${path}`, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' } : {}),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('server')).toBeNull();
  });

  it.each(['application/json', 'text/plain'])(
    'answers a POST with a %s body to a GET endpoint 405 with Allow, not as a form it cannot read',
    async (type) => {
      const response = await fetch(`${sts.issuer}/.well-known/jwks.json`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: '{}',
      });
      expect({ status: response.status, allow: response.headers.get('allow'), body: await response.json() }).toEqual({
        status: 405,
        allow: 'GET, HEAD',
        body: { error: 'invalid_request', error_description: 'the JWKS endpoint accepts GET only' },
      });
    },
  );

  it('answers 404 JSON to unknown paths', async () => {
    const response = await fetch(`${sts.issuer}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', error_description: 'no such endpoint' });
  });

  it.each([
    [
      'bad Content-Length',
      'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
      'malformed HTTP request (HPE_INVALID_CONTENT_LENGTH)',
    ],
    ['garbage request line', 'GARBAGE\r\n\r\n', 400, 'malformed HTTP request (HPE_INVALID_METHOD)'],
    [
      'header overflow',
      `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
      431,
      'request headers too large (HPE_HEADER_OVERFLOW)',
    ],
    // Refused by Fastify's router, before any hook: no route, so no endpoint's line either.
    [
      'a path that does not percent-decode',
      'POST /oauth/tok%zzen HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
      400,
      'malformed request URL (FST_ERR_BAD_URL)',
    ],
    // RFC 9110 §10.1.1: Node answers any expectation but 100-continue before the request is routed.
    [
      'an expectation other than 100-continue',
      'POST /oauth/token HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n',
      417,
      'unsupported expectation: send no Expect, or Expect: 100-continue (Expect "200-ok")',
    ],
    // RFC 9110 §9.1: a method no endpoint implements; Node alone would close the connection unanswered.
    [
      'CONNECT',
      'CONNECT sts.example:443 HTTP/1.1\r\nHost: sts.example:443\r\n\r\n',
      501,
      'CONNECT is not served (CONNECT "sts.example:443")',
    ],
  ])('answers malformed HTTP (%s) with OAuth JSON, and audits it', async (_name, raw, status, reason) => {
    const before = sts.audit.lines.length;
    const text = await rawExchange(raw, { end: true });
    expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(text).toMatch(/cache-control: no-store/i);
    expect(text).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error).toBe('invalid_request');
    // No route had the request, yet it leaves its one line: who sent what was refused.
    expect(sts.audit.lines.slice(before)).toEqual([
      {
        ts: expect.any(String),
        event: 'http.refused',
        outcome: 'refused',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client_ip: '127.0.0.1',
        status,
        error: 'invalid_request',
        reason,
      },
    ]);
  });

  it.each([
    ['no Host', [], 'missing Host header', 'HTTP/1.1 without Host (RFC 9112 §3.2)'],
    [
      'two Host lines',
      ['Host: a.example', 'Host: b.example'],
      'more than one Host header',
      '2 Host header lines (RFC 9112 §3.2)',
    ],
    [
      'a Host with userinfo',
      ['Host: user@evil.example'],
      'malformed Host header',
      'Host "user@evil.example" (RFC 9112 §3.2)',
    ],
    [
      'a compressed chunked body',
      ['Host: x', 'Transfer-Encoding: gzip, chunked'],
      'unsupported transfer coding: send the body chunked or with a Content-Length',
      'Transfer-Encoding "gzip, chunked" (RFC 9112 §6.1)',
    ],
    [
      'two Content-Type lines',
      ['Host: x', 'Content-Type: application/json'],
      'more than one Content-Type header',
      '2 Content-Type header lines (RFC 9110 §8.3)',
    ],
    [
      'two Authorization lines (the first one right)',
      ['Host: x', `Authorization: Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`.replace(/^A/, 'a')],
      'more than one Authorization header',
      '2 Authorization header lines (RFC 9110 §11.6.2)',
    ],
    [
      'a content coding',
      ['Host: x', 'Content-Encoding: gzip'],
      'unsupported content coding: send the body without Content-Encoding',
      'Content-Encoding "gzip" (RFC 9110 §8.4)',
    ],
    // Node hands over 2000 header lines by default: a second one past them must not go unseen.
    [
      'two Authorization lines, 2000 lines apart',
      ['Host: x', `Authorization: Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`, ...FILLER_LINES],
      'more than one Authorization header',
      '2 Authorization header lines (RFC 9110 §11.6.2)',
    ],
    [
      'two Host lines, 2000 lines apart',
      ['Host: x', ...FILLER_LINES, 'Host: evil.example'],
      'more than one Host header',
      '2 Host header lines (RFC 9112 §3.2)',
    ],
  ])(
    'refuses what HTTP forbids but the parser lets through (%s): OAuth JSON, connection closed, audited',
    async (_name, headers, description, reason) => {
      const before = sts.audit.lines.length;
      const form = new URLSearchParams(exchange({ subject_token: await userToken() })).toString();
      const chunked = headers.some((h) => h.startsWith('Transfer-Encoding'));
      const body = chunked ? `${Buffer.byteLength(form).toString(16)}\r\n${form}\r\n0\r\n\r\n` : form;
      const raw = [
        'POST /oauth/token HTTP/1.1',
        ...headers,
        `Authorization: Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`,
        'Content-Type: application/x-www-form-urlencoded',
        ...(chunked ? [] : [`Content-Length: ${Buffer.byteLength(body)}`]),
        '',
        body,
      ].join('\r\n');
      // The server closes the connection itself (the socket is not ended here).
      const text = await rawExchange(raw, { end: false });
      expect(text.startsWith('HTTP/1.1 400 ')).toBe(true);
      expect(text).toMatch(/\r\ncache-control: no-store\r\n/i);
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
        error: 'invalid_request',
        error_description: description,
      });
      expect(sts.audit.lines.slice(before)).toEqual([
        expect.objectContaining({ event: 'token.refused', error: 'invalid_request', step: 'request', reason }),
      ]);
    },
  );
});

describe('client authentication', () => {
  const ok = () => exchange({ subject_token: 'x' });

  it('requires client authentication (401)', async () => {
    const res = await refused(ok(), {}, 401, 'invalid_client', 'client authentication required');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it.each([
    ['wrong secret', ['agent', 'wrong-secret-0123456789']],
    ['unknown client', ['nobody', SECRET]],
    ['client registered for client_secret_post', ['poster', POST_SECRET]],
  ] as const)('refuses Basic with %s: 401 + WWW-Authenticate, one description for all', async (_name, basic) => {
    const res = await refused(ok(), { basic: [...basic] }, 401, 'invalid_client', 'client authentication failed');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="actbridge"/);
  });

  it.each([
    ['a Bearer header', 'Bearer abc', 'unsupported Authorization scheme; use Basic'],
    ['Basic without a colon', `Basic ${Buffer.from('agent').toString('base64')}`, 'malformed Basic credentials'],
    ['Basic that is not base64', 'Basic !!!', 'malformed Basic credentials'],
  ])('refuses %s: 401 + WWW-Authenticate', async (_name, authorization, description) => {
    const res = await refused(ok(), { headers: { authorization } }, 401, 'invalid_client', description);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('refuses a wrong client_secret_post without a challenge', async () => {
    const res = await refused(
      { ...ok(), client_id: 'poster', client_secret: 'nope-nope-nope-nope' },
      {},
      401,
      'invalid_client',
      'client authentication failed',
    );
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('refuses two authentication methods at once', async () => {
    await refused(
      { ...ok(), client_id: 'agent', client_secret: SECRET },
      asAgent,
      400,
      'invalid_request',
      'use exactly one client authentication method (got Authorization header and client_secret)',
    );
  });

  it('refuses a client_id that contradicts the credentials', async () => {
    await refused(
      { ...ok(), client_id: 'poster' },
      asAgent,
      401,
      'invalid_client',
      'client_id does not match the authenticated client',
    );
  });

  // What the caller wrote is audited in part: a body's worth (MAX_BODY_BYTES is 4096 here) of client_id, grant_type or token type is not
  // written whole on every refusal (as the user agent, the first 256 characters).
  it.each([
    [
      'client_id',
      { ...ok(), client_id: 'c'.repeat(3_000), client_secret: POST_SECRET },
      401,
      'invalid_client',
      'client authentication failed',
    ],
    ['grant_type', { grant_type: 'g'.repeat(3_000) }, 400, 'unsupported_grant_type', /^grant_type not supported/],
    [
      'subject_token_type',
      { ...ok(), subject_token_type: 's'.repeat(3_000) },
      400,
      'invalid_request',
      /^unsupported subject_token_type/,
    ],
    [
      'actor_token_type',
      { ...ok(), actor_token: 'y', actor_token_type: 'a'.repeat(3_000) },
      400,
      'invalid_request',
      'subject_token is not a signed JWT',
    ],
  ] as const)(
    'audits a 3,000-character %s as its first 256 characters',
    async (field, form, status, error, description) => {
      await refused(form, field === 'client_id' ? {} : asAgent, status, error, description);
      const line = sts.audit.lines.at(-1)!;
      expect(line[field]).toBe(`${(form as Record<string, string>)[field]!.slice(0, 256)}...`);
    },
  );

  it('refuses client_secret without client_id', async () => {
    await refused(
      { ...ok(), client_secret: POST_SECRET },
      {},
      400,
      'invalid_request',
      'client_id is required with client_secret',
    );
  });

  it('refuses a client not allowed the grant: unauthorized_client', async () => {
    await refused(
      ok(),
      { basic: ['disabled', SECRET] },
      400,
      'unauthorized_client',
      'this client may not use this grant_type',
    );
  });

  describe('private_key_jwt', () => {
    const form = (assertion: string, type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') => ({
      ...exchange({ subject_token: 'not-a-jwt' }),
      client_assertion: assertion,
      client_assertion_type: type,
    });

    it('authenticates a valid assertion (reaching subject_token validation)', async () => {
      await refused(form(await pkAssertion({})), {}, 400, 'invalid_request', 'subject_token is not a signed JWT');
    });

    it('refuses a replayed assertion (single-use jti)', async () => {
      const assertion = await pkAssertion({});
      await refused(form(assertion), {}, 400, 'invalid_request', 'subject_token is not a signed JWT');
      await refused(form(assertion), {}, 401, 'invalid_client', 'client_assertion has already been used (jti replay)');
    });

    it.each<MakerRow>([
      [
        'aud = token endpoint (rfc7523bis)',
        async () => pkAssertion({ aud: sts.tokenEndpoint }),
        /^client_assertion aud must be exactly the issuer/,
      ],
      [
        'aud = [issuer, other] (audience injection)',
        async () => pkAssertion({ aud: [sts.issuer, 'https://other'] }),
        /^client_assertion aud must be exactly the issuer/,
      ],
      [
        'expired',
        async () => pkAssertion({ exp: Math.floor(Date.now() / 1000) - 120 }),
        'client_assertion has expired',
      ],
      [
        'lifetime too long',
        async () => pkAssertion({ exp: Math.floor(Date.now() / 1000) + 3600 }),
        'client_assertion lifetime exceeds 300 s',
      ],
      ['no jti', async () => pkAssertion({ jti: undefined }), 'client_assertion has no jti claim'],
      ['iss is another client', async () => pkAssertion({ iss: 'agent' }), 'client authentication failed'],
      [
        'sub is not the client',
        async () => pkAssertion({ sub: 'someone' }),
        'client_assertion sub must be the client_id',
      ],
      [
        'typ at+jwt (token confusion)',
        async () => pkAssertion({}, { typ: 'at+jwt' }),
        "client_assertion typ 'at+jwt' is not a client assertion type",
      ],
      [
        'signed by an unregistered key',
        async () => pkAssertion({}, {}, (await generateKeyPair('ES256')).privateKey),
        'client_assertion signature is invalid',
      ],
      [
        'HS256 with the public key as secret',
        async () =>
          new SignJWT({ iss: 'pk', sub: 'pk', aud: sts.issuer, jti: 'x', exp: Math.floor(Date.now() / 1000) + 60 })
            .setProtectedHeader({ alg: 'HS256' })
            .sign(new TextEncoder().encode(JSON.stringify(pkjwtJwk))),
        'client_assertion alg is not accepted (asymmetric algorithms only)',
      ],
      ['not a JWT', async () => 'garbage', 'client_assertion is not a well-formed JWT'],
      // RFC 7515 §2: base64url without padding or white space (jose's decoder would read both).
      [
        'a padded signature segment',
        async () => `${await pkAssertion({})}==`,
        'client_assertion is not a well-formed JWT',
      ],
      [
        'white space inside the signature segment',
        async () => (await pkAssertion({})).replace(/\.([^.]{10})([^.]*)$/, '.$1 $2'),
        'client_assertion is not a well-formed JWT',
      ],
    ])('refuses an assertion: %s', async (_name, make, description) => {
      await refused(form(await make()), {}, 401, 'invalid_client', description);
    });

    it.each<MakerRow>([
      [
        'a kid naming both keys',
        async () => clientAssertion(pkjwtKey, { kid: 'pk-1' }, 'pk-twins', sts.issuer),
        "client_assertion kid 'pk-1' names several keys the client registered",
      ],
      [
        'no kid',
        async () =>
          new SignJWT({ iss: 'pk-twins', sub: 'pk-twins', aud: sts.issuer, jti: 'twins-no-kid' })
            .setProtectedHeader({ alg: 'ES256' })
            .setExpirationTime('60s')
            .sign(pkjwtKey),
        'client_assertion names no kid and the client registered several keys',
      ],
    ])('refuses an assertion of a client with two keys under one kid: %s', async (_name, make, description) => {
      await refused(form(await make()), {}, 401, 'invalid_client', description);
    });

    it('refuses an unknown client_assertion_type', async () => {
      await refused(
        form(await pkAssertion({}), 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer'),
        {},
        401,
        'invalid_client',
        /^unsupported client_assertion_type/,
      );
    });
  });
});

describe('token exchange parameters', () => {
  it.each([
    ['missing subject_token', {}, 400, 'invalid_request', 'subject_token is required'],
    [
      'missing subject_token_type',
      { subject_token: 'x', subject_token_type: undefined },
      400,
      'invalid_request',
      'subject_token_type is required',
    ],
    [
      'actor_token without its type',
      { subject_token: 'x', actor_token: 'y' },
      400,
      'invalid_request',
      'actor_token_type is required with actor_token',
    ],
    [
      'actor_token_type without a token',
      { subject_token: 'x', actor_token_type: TT.jwt },
      400,
      'invalid_request',
      'actor_token_type must not be sent without actor_token',
    ],
    [
      'repeated subject_token',
      { subject_token: ['x', 'y'] },
      400,
      'invalid_request',
      'parameter subject_token is repeated',
    ],
    [
      'repeated scope',
      { subject_token: 'x', scope: ['read', 'write'] },
      400,
      'invalid_request',
      'parameter scope is repeated',
    ],
    [
      'relative resource',
      { subject_token: 'x', resource: '/api' },
      400,
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      'resource with fragment',
      { subject_token: 'x', resource: 'https://api.example#x' },
      400,
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      'malformed scope',
      { subject_token: 'x', scope: 'read  write' },
      400,
      'invalid_scope',
      'scope must be space-separated RFC 6749 scope-tokens',
    ],
    [
      'scope with a quote',
      { subject_token: 'x', scope: 're"ad' },
      400,
      'invalid_scope',
      'scope must be space-separated RFC 6749 scope-tokens',
    ],
    [
      'requested_token_type id_token',
      { subject_token: 'x', requested_token_type: TT.idToken },
      400,
      'invalid_request',
      /^unsupported requested_token_type/,
    ],
  ] as const)('%s', async (_name, extra, status, error, description) => {
    await refused(exchange(extra as Record<string, string>), asAgent, status, error, description);
  });

  it.each([TT.refreshToken, 'urn:example:custom'])('refuses subject_token_type %s as unsupported', async (type) => {
    const extra = { subject_token: 'x', subject_token_type: type };
    await agentRefused(extra, 'invalid_request', /^unsupported subject_token_type; supported: /);
  });

  it('lists as supported only the types a token can be accepted as (saml1 is refused)', async () => {
    await agentRefused(
      { subject_token: 'x', subject_token_type: TT.refreshToken },
      'invalid_request',
      'unsupported subject_token_type; supported: urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:access_token, urn:ietf:params:oauth:token-type:id_token, urn:ietf:params:oauth:token-type:saml2',
    );
  });

  it('refuses saml1 as a known but unsupported token type', async () => {
    await agentRefused(
      { subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:saml1' },
      'invalid_request',
      'saml1 is not supported as subject_token_type; present a SAML 2.0 assertion as urn:ietf:params:oauth:token-type:saml2',
    );
  });

  it('refuses an unsupported actor_token_type', async () => {
    const extra = { subject_token: await userToken(), actor_token: 'x', actor_token_type: 'urn:example:custom' };
    await agentRefused(extra, 'invalid_request', /^unsupported actor_token_type/);
  });
});

describe('subject and actor token validation (invalid_request, RFC 8693 §2.2.2)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const refusesSubjectToken = async (_name: string, make: () => Promise<string>, description: string | RegExp) =>
    agentRefused({ subject_token: await make() }, 'invalid_request', description);

  it.each<MakerRow>([
    ['not a JWT', async () => 'abc', 'subject_token is not a signed JWT'],
    [
      'an encrypted JWT (JWE)',
      async () => 'a.b.c.d.e',
      'subject_token is encrypted (JWE); only signed JWTs are accepted',
    ],
    [
      'alg none (unsigned)',
      async () => {
        const [, payload] = (await userToken()).split('.');
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
      },
      'subject_token is not a signed JWT',
    ],
    [
      'alg none with a signature',
      async () => {
        const [, payload, signature] = (await userToken()).split('.');
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.${signature}`;
      },
      `subject_token alg 'none' is not accepted from issuer https://idp.example`,
    ],
    [
      'HS256 signed with the RS256 issuer public key (algorithm confusion)',
      async () => {
        // The classic attack: the verifier's RSA public key (public knowledge) used as an HMAC secret.
        const pem = await exportSPKI(
          (await importJWK(rsaIdp.publicJwks.keys[0]!, 'RS256', { extractable: true })) as CryptoKey,
        );
        return new SignJWT({ iss: rsaIdp.issuer, sub: 'alice', aud: STS_AUD, exp: now() + 60 })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: rsaIdp.kid })
          .sign(new TextEncoder().encode(pem));
      },
      "subject_token alg 'HS256' is not accepted from issuer https://rsa-idp.example",
    ],
    [
      'an untrusted issuer',
      async () => (await createTestIssuer('https://evil.example')).mint({ sub: 'alice', aud: STS_AUD }),
      'subject_token issuer is not trusted',
    ],
    ['no iss', async () => idp.mint({ iss: undefined, sub: 'alice', aud: STS_AUD }), 'subject_token has no iss claim'],
    ['expired', async () => userToken({ exp: now() - 120, iat: now() - 600 }), 'subject_token has expired'],
    ['not yet valid', async () => userToken({ nbf: now() + 600 }), 'subject_token is not yet valid (nbf)'],
    [
      'issued in the future',
      async () => userToken({ iat: now() + 600 }),
      'subject_token was issued in the future (iat)',
    ],
    ['no exp', async () => userToken({ exp: undefined }), 'subject_token has no exp claim'],
    ['no sub', async () => userToken({ sub: undefined }), 'subject_token has no sub claim'],
    ['an empty sub', async () => userToken({ sub: '' }), 'subject_token has an empty sub claim'],
    ['no aud', async () => userToken({ aud: undefined }), 'subject_token has no aud claim'],
    [
      'an aud for someone else',
      async () => userToken({ aud: 'https://someone-else' }),
      'subject_token audience is not accepted: it must name actbridge or client agent',
    ],
    [
      'typ JWT presented as access_token',
      async () => userToken({}, { typ: 'JWT' }),
      "subject_token typ 'JWT' is not accepted for token type urn:ietf:params:oauth:token-type:access_token",
    ],
    [
      'no typ presented as access_token',
      async () => userToken({}, { typ: undefined }),
      'subject_token typ (none) is not accepted for token type urn:ietf:params:oauth:token-type:access_token',
    ],
    [
      'an ID-JAG presented as access_token',
      async () => userToken({}, { typ: 'oauth-id-jag+jwt' }),
      /^subject_token typ 'oauth-id-jag\+jwt' is not accepted/,
    ],
    [
      // RFC 6749 §5.2: the echoed typ reaches error_description in its characters only.
      'a typ holding a control character, non-ASCII, a quote and a backslash',
      async () => userToken({}, { typ: 'a"b\\c\u0001é\n' }),
      "subject_token typ 'a'b?c???' is not accepted for token type urn:ietf:params:oauth:token-type:access_token",
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await userToken()).split('.');
        const forged = Buffer.from(
          JSON.stringify({ iss: idp.issuer, sub: 'root', aud: STS_AUD, exp: now() + 60, scope: 'read write' }),
        ).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
      'subject_token signature is invalid',
    ],
    [
      'an unknown kid',
      async () => userToken({}, { kid: 'unknown-kid' }),
      "subject_token was signed with a key its issuer does not publish (kid 'unknown-kid')",
    ],
    [
      'an unknown kid of 1,000 characters, named in part',
      async () => userToken({}, { kid: 'k'.repeat(1000) }),
      `subject_token was signed with a key its issuer does not publish (kid '${'k'.repeat(200)}...')`,
    ],
    [
      'a kid its issuer publishes for two keys',
      async () => twinIdp.mint({ sub: 'alice', aud: STS_AUD }),
      "subject_token kid 'twin' names several keys its issuer publishes",
    ],
    [
      'no kid, and its issuer publishes several keys',
      async () => twinIdp.mint({ sub: 'alice', aud: STS_AUD }, { kid: undefined }),
      'subject_token names no kid and its issuer publishes several keys',
    ],
    [
      'signed by an attacker key embedded as jwk (keys never come from the header)',
      async () => {
        const attacker = await generateKeyPair('ES256', { extractable: true });
        return new SignJWT({ iss: idp.issuer, sub: 'alice', aud: STS_AUD, exp: now() + 60, scope: 'read' })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: idp.kid, jwk: await exportJWK(attacker.publicKey) })
          .sign(attacker.privateKey);
      },
      'subject_token signature is invalid',
    ],
    [
      'signed by an attacker key named by jku',
      async () => {
        const attacker = await generateKeyPair('ES256');
        return new SignJWT({ iss: idp.issuer, sub: 'alice', aud: STS_AUD, exp: now() + 60 })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jku: 'https://evil.example/jwks', kid: 'evil' })
          .sign(attacker.privateKey);
      },
      "subject_token was signed with a key its issuer does not publish (kid 'evil')",
    ],
    [
      'an unknown critical header',
      async () =>
        idp.signRaw(
          { alg: 'ES256', typ: 'at+jwt', kid: idp.kid, crit: ['urn:x'], 'urn:x': 1 },
          { iss: idp.issuer, sub: 'alice', aud: STS_AUD, exp: now() + 60 },
        ),
      'subject_token uses an unsupported JOSE feature',
    ],
    [
      'a non-string scope claim',
      async () => userToken({ scope: ['read'] }),
      'subject_token has a scope claim that is not a string',
    ],
  ])('refuses %s', refusesSubjectToken);

  // RFC 7519 NumericDates, held to whole seconds, and an expiry at most MAX_PRESENTED_TOKEN_LIFETIME
  // (default 86400 s) ahead, or the anchor's max_token_lifetime.
  const raw = (claims: string) =>
    idp.signRaw(
      { alg: 'ES256', typ: 'at+jwt', kid: idp.kid },
      `{"iss":"${idp.issuer}","sub":"alice","aud":"${STS_AUD}","scope":"read",${claims}}`,
    );
  it.each<MakerRow>([
    [
      'an exp 1e300 (trusted issuer, valid signature)',
      async () => userToken({ exp: 1e300 }),
      'subject_token expires too far in the future: more than 86400 s ahead (exp)',
    ],
    [
      'an exp one day and a minute ahead',
      async () => userToken({ exp: now() + 86400 + 90 }),
      'subject_token expires too far in the future: more than 86400 s ahead (exp)',
    ],
    [
      'an exp written 1e400 (Infinity once parsed)',
      async () => raw(`"exp":1e400`),
      'subject_token has a malformed exp claim: a whole number of seconds is required',
    ],
    [
      'a fractional exp',
      async () => userToken({ exp: now() + 60.5 }),
      'subject_token has a malformed exp claim: a whole number of seconds is required',
    ],
    [
      'a fractional nbf',
      async () => userToken({ nbf: now() - 0.25 }),
      'subject_token has a malformed nbf claim: a whole number of seconds is required',
    ],
    [
      'an iat of -1e400',
      async () => raw(`"exp":${now() + 60},"iat":-1e400`),
      'subject_token has a malformed iat claim: a whole number of seconds is required',
    ],
    [
      "an exp beyond its anchor's own max_token_lifetime (600 s)",
      async () => userToken({ exp: now() + 900 }, {}, shortIdp),
      'subject_token expires too far in the future: more than 600 s ahead (exp)',
    ],
  ])('refuses %s', refusesSubjectToken);

  it('accepts an exp just under the bound, and caps the issued token at its own lifetime', async () => {
    const res = await postToken(
      sts,
      exchange({ subject_token: await userToken({ exp: now() + 86400 - 60 }) }),
      asAgent,
    );
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBeLessThanOrEqual(3600);
    const short = await postToken(
      sts,
      exchange({ subject_token: await userToken({ exp: now() + 500 }, {}, shortIdp) }),
      asAgent,
    );
    expect(short.status).toBe(200);
  });

  const actorToken = (claims: Record<string, unknown>) =>
    idp.mint({ sub: 'agent-1', aud: STS_AUD, ...claims }, { typ: 'JWT' });
  it.each<MakerRow>([
    [
      'an exp 1e300',
      () => actorToken({ exp: 1e300 }),
      'actor_token expires too far in the future: more than 86400 s ahead (exp)',
    ],
    [
      'a fractional iat',
      () => actorToken({ iat: now() + 0.5 }),
      'actor_token has a malformed iat claim: a whole number of seconds is required',
    ],
    ['an expired actor token', () => actorToken({ exp: now() - 120, iat: now() - 600 }), 'actor_token has expired'],
  ])('validates the actor token as strictly: %s', async (_name, make, description) => {
    const extra = { subject_token: await userToken(), actor_token: await make(), actor_token_type: TT.jwt };
    await agentRefused(extra, 'invalid_request', description);
  });

  it.each<
    [name: string, claims: Record<string, unknown>, header: Record<string, unknown>, description: string | RegExp]
  >([
    [
      'issued to another client',
      { aud: 'some-other-rp' },
      { typ: 'JWT' },
      'subject_token audience is not accepted: an ID token must be issued to client agent',
    ],
    [
      'with several audiences and no azp',
      { aud: ['agent', 'other'] },
      { typ: 'JWT' },
      'subject_token has several audiences and no azp claim',
    ],
    ['that is an access token (at+jwt)', { aud: 'agent' }, {}, /^subject_token typ 'at\+jwt' is not accepted/],
  ])('refuses an ID token %s', async (_name, claims, header, description) => {
    const idToken = await idp.mint({ sub: 'alice', ...claims }, header);
    await agentRefused({ subject_token: idToken, subject_token_type: TT.idToken }, 'invalid_request', description);
  });

  it("refuses actbridge's own token presented by a client it was not issued to (no lateral movement)", async () => {
    const issued = await postToken(sts, exchange({ subject_token: await userToken(), audience: 'agent-2' }), asAgent);
    expect(issued.status).toBe(200);
    await refused(
      exchange({ subject_token: issued.body.access_token as string, client_id: 'poster', client_secret: POST_SECRET }),
      {},
      400,
      'invalid_request',
      'subject_token audience is not accepted: it must name actbridge or client poster',
    );
  });
});

describe('delegation policy', () => {
  const agentToken = () => idp.mint({ sub: 'agent-1', aud: STS_AUD }, { typ: 'JWT' });
  const withActor = (subject_token: string, actor_token: string) => ({
    subject_token,
    actor_token,
    actor_token_type: TT.jwt,
  });
  /** A delegation chain of `depth` actors a1 … a<depth>, outermost first. */
  const chainOf = (depth: number) => {
    let act: Record<string, unknown> | undefined;
    for (let i = depth; i >= 1; i--) act = act ? { sub: `a${i}`, act } : { sub: `a${i}` };
    return act;
  };

  it.each<[name: string, form: () => Promise<Record<string, string>>, description: string]>([
    [
      'refuses an act claim from an issuer not trusted for chains',
      async () => ({ subject_token: await userToken({ act: { sub: 'someone' } }) }),
      'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    ],
    [
      'refuses a malformed act from a trusted chain issuer',
      async () => ({ subject_token: await userToken({ act: { iss: 'x' } }, {}, chainIdp) }),
      'subject_token act claim has an actor without sub',
    ],
    [
      'refuses an actor token that is itself delegated',
      async () =>
        withActor(
          await userToken(),
          await idp.mint({ sub: 'agent-1', aud: STS_AUD, act: { sub: 'x' } }, { typ: 'JWT' }),
        ),
      'actor_token must identify the actor itself; it carries an act claim',
    ],
    [
      'refuses the subject token presented again as actor token (RFC 8693 §1.1)',
      async () => {
        const token = await userToken();
        return withActor(token, token);
      },
      'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    ],
    [
      'enforces may_act against the actor token',
      async () => withActor(await userToken({ may_act: { sub: 'agent-9' } }), await agentToken()),
      "the actor_token's subject is not permitted by the subject_token's may_act claim",
    ],
    [
      'enforces may_act against the client when there is no actor token',
      async () => ({ subject_token: await userToken({ may_act: { sub: 'agent-1' } }) }),
      "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    ],
    [
      'does not let a may_act sub vouched by another issuer match',
      async () => withActor(await userToken({ may_act: { sub: 'agent-1' } }, {}, chainIdp), await agentToken()),
      "the actor_token's subject is not permitted by the subject_token's may_act claim",
    ],
    [
      'refuses a malformed may_act',
      async () => withActor(await userToken({ may_act: 'agent-1' }), await agentToken()),
      'subject_token may_act claim is malformed',
    ],
    [
      'refuses a chain deeper than MAX_CHAIN_DEPTH (default 5)',
      async () => withActor(await userToken({ act: chainOf(5) }, {}, chainIdp), await agentToken()),
      'delegation chain too deep: the token would record 6 actors, at most 5 are allowed',
    ],
  ])('%s', async (_name, form, description) => {
    await agentRefused(await form(), 'invalid_request', description);
  });

  it.each([
    [
      'an audience not on the allowlist',
      { audience: 'https://evil.example' },
      "target not allowed for this client: 'https://evil.example'",
    ],
    [
      'a resource not on the allowlist',
      { audience: undefined, resource: 'https://evil.example/' },
      "target not allowed for this client: 'https://evil.example/'",
    ],
    [
      'no target and no default',
      { audience: undefined },
      'no audience or resource requested, and this client has no default audience',
    ],
    ['too many targets', { audience: ['a', 'b', 'c', 'd'] }, 'too many targets requested (4; at most 3)'],
  ] as const)('refuses %s: invalid_target', async (_name, extra, description) => {
    await agentRefused({ subject_token: await userToken(), ...extra }, 'invalid_target', description);
    // Refused once the subject was validated: the line names it and its trust anchor, as an issuance does.
    expect(sts.audit.lines.at(-1)).toMatchObject({ step: 'policy', subject: { sub: 'alice' }, anchor: 'idp' });
  });

  it.each([
    ['beyond the client', 'admin', 'scope not allowed for this client: admin'],
    ['beyond the subject token', 'write', "scope exceeds the subject_token's scope: write"],
    // Scope the client was never given is named in part: a description (and audit line) stays bounded.
    [
      'many times over',
      Array.from({ length: 100 }, (_, i) => `scope${i}`).join(' '),
      'scope not allowed for this client: scope0 scope1 scope2 scope3 scope4 (and 95 more)',
    ],
    ['once, very long', 'x'.repeat(2500), `scope not allowed for this client: ${'x'.repeat(64)}...`],
  ])('refuses a scope %s: invalid_scope', async (_name, scope, description) => {
    // agent may have read+write; this subject token only carries "read".
    await agentRefused({ subject_token: await userToken({ scope: 'read' }), scope }, 'invalid_scope', description);
    expect(sts.audit.lines.at(-1)).toMatchObject({ step: 'policy', subject: { sub: 'alice' }, anchor: 'idp' });
  });
});

describe('what is issued when the exchange succeeds', () => {
  it('never launders a delegated token: an impersonation client still records the chain', async () => {
    const subject = await userToken({ act: { sub: 'agent-0', iss: chainIdp.issuer } }, {}, chainIdp);
    const res = await postToken(sts, exchange({ subject_token: subject }), { basic: ['imp', SECRET] });
    expect(res.status).toBe(200);
    const claims = claimsOf(res.body.access_token as string);
    expect(claims.act).toEqual({ sub: 'imp', iss: sts.issuer, act: { sub: 'agent-0', iss: chainIdp.issuer } });
    expect(sts.audit.lines.at(-1)).toMatchObject({ outcome: 'issued', mode: 'delegation' });
  });

  it('impersonates only a plain token, for a client allowed to, and audits the client', async () => {
    const res = await postToken(sts, exchange({ subject_token: await userToken() }), { basic: ['imp', SECRET] });
    expect(res.status).toBe(200);
    const claims = claimsOf(res.body.access_token as string);
    expect(claims.act).toBeUndefined();
    expect(claims.sub).toBe('alice');
    expect(claims.client_id).toBe('imp');
    expect(sts.audit.lines.at(-1)).toMatchObject({
      outcome: 'issued',
      mode: 'impersonation',
      client_id: 'imp',
      actors: [],
    });
  });

  it('makes the client the actor when it may not impersonate', async () => {
    const res = await postToken(sts, exchange({ subject_token: await userToken() }), asAgent);
    expect(claimsOf(res.body.access_token as string).act).toEqual({ sub: 'agent', iss: sts.issuer });
  });

  it("accepts a may_act naming the client in actbridge's namespace", async () => {
    const subject = await userToken({ may_act: { client_id: 'agent', iss: sts.issuer } });
    const res = await postToken(sts, exchange({ subject_token: subject }), asAgent);
    expect(res.status).toBe(200);
  });

  it('grants the scope intersection by default and caps the lifetime at the subject token', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const res = await postToken(
      sts,
      exchange({
        subject_token: await userToken({ scope: 'read delete', exp }),
        audience: ['https://api.example', 'https://other.example'],
        requested_token_type: TT.jwt,
      }),
      asAgent,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', issued_token_type: TT.jwt, scope: 'read' });
    expect(res.body.expires_in).toBeLessThanOrEqual(120);
    const claims = claimsOf(res.body.access_token as string);
    expect(claims.exp).toBe(exp);
    expect(claims.aud).toEqual(['https://api.example', 'https://other.example']);
  });
});
