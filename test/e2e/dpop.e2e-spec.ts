import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, exportJWK, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { jsonRequest } from '../support/node-request.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient } from '../support/clients.js';
import { dpopProof, newDpopKey, type DpopKey } from '../support/dpop.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { useFixture } from '../support/fixture.js';

/**
 * RFC 9449 DPoP at the token endpoint, over real HTTP: openid-client's DPoP support as the client,
 * jose as the resource side, hand-built proofs for every refusal (exact code, status, description,
 * one audit line each).
 */

const STS_AUD = 'urn:actbridge:test';
const API = 'https://api.example';
const SECRET = 'agent-secret-0123456789';
const asAgent = { basic: ['agent', SECRET] as [string, string] };
const asBound = { basic: ['bound', SECRET] as [string, string] };

type Key = DpopKey;

let sts: TestApp;
let idp: TestIssuer;
let k1: Key;
let k2: Key;

const newKey = newDpopKey;

/** A DPoP proof for `app`'s token endpoint; overrides of claims and header (undefined removes). */
const proofFor = (app: TestApp, key: Key, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  dpopProof(app.tokenEndpoint, key, claims, header);
const proof = (key: Key, claims?: Record<string, unknown>, header?: Record<string, unknown>) =>
  proofFor(sts, key, claims, header);

const userToken = (claims: Record<string, unknown> = {}) =>
  idp.mint({ sub: 'alice', aud: STS_AUD, scope: 'read write', ...claims });
const exchange = async (extra: Record<string, string | undefined> = {}) => ({
  grant_type: GRANT_TOKEN_EXCHANGE,
  subject_token: await userToken(),
  subject_token_type: TT.accessToken,
  audience: API,
  ...extra,
});

type Response = Awaited<ReturnType<typeof postToken>>;

async function refused(
  form: Record<string, string | undefined>,
  init: Parameters<typeof postToken>[2],
  status: number,
  error: string,
  description: string,
  app: TestApp = sts,
): Promise<Response> {
  return expectTokenRefused(app, () => postToken(app, form, init), { status, error, description });
}

/** Agent's plain exchange at `app` under a proof by k1 (`claims` override), refused as expected. */
async function refusedAt(
  app: TestApp,
  claims: Record<string, unknown>,
  status: number,
  error: string,
  description: string,
): Promise<Response> {
  const init = { ...asAgent, headers: { dpop: await proofFor(app, k1, claims) } };
  return refused(await exchange(), init, status, error, description, app);
}

const clients = [
  basicClient('agent', SECRET, { audiences: [API, 'agent-2'], scopes: ['read', 'write'] }),
  basicClient('agent-2', SECRET, { audiences: [API], scopes: ['read', 'write'] }),
  basicClient('bound', SECRET, { audiences: [API], scopes: ['read'], dpop_bound_access_tokens: true }),
];

/** actbridge trusting `idp`, with the clients above and `env`. */
const startSts = (env: Record<string, string> = {}) =>
  startTestApp({ anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] } }, clients, env });

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  [k1, k2] = await Promise.all([newKey(), newKey()]);
  sts = await startSts();
});

afterAll(async () => {
  await sts?.close();
});

describe('DPoP with openid-client', () => {
  async function clientConfig(app: TestApp, clientId: string): Promise<client.Configuration> {
    return client.discovery(new URL(app.issuer), clientId, undefined, client.ClientSecretBasic(SECRET), {
      execute: [client.allowInsecureRequests],
    });
  }

  /**
   * A token exchange by openid-client under a fresh DPoP key: the response, the key's handle, and the
   * audit lines the grant request left (retries included).
   */
  async function dpopExchange(app: TestApp, clientId: string, extra: Record<string, string> = {}) {
    const config = await clientConfig(app, clientId);
    const handle = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const before = app.audit.lines.length;
    const response = await client.genericGrantRequest(
      config,
      GRANT_TOKEN_EXCHANGE,
      { subject_token: await userToken(), subject_token_type: TT.accessToken, audience: API, ...extra },
      { DPoP: handle },
    );
    return { response, handle, audit: app.audit.lines.slice(before) };
  }

  it('metadata lists dpop_signing_alg_values_supported', async () => {
    const config = await clientConfig(sts, 'agent');
    expect(config.serverMetadata().dpop_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'RS256', 'PS256', 'EdDSA']),
    );
    expect(config.serverMetadata().dpop_signing_alg_values_supported).not.toContain('HS256');
  });

  it('binds the issued token to the proof key: cnf.jkt, token_type DPoP, audit dpop_jkt', async () => {
    const { response, handle, audit } = await dpopExchange(sts, 'agent', { scope: 'read' });
    const jkt = await handle.calculateThumbprint();
    expect(response.token_type).toBe('dpop');
    const { payload } = await jwtVerify(
      response.access_token,
      createRemoteJWKSet(new URL(`${sts.issuer}/.well-known/jwks.json`)),
      {
        issuer: sts.issuer,
        audience: API,
        typ: 'at+jwt',
      },
    );
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'agent', scope: 'read', cnf: { jkt } });
    expect(audit).toEqual([expect.objectContaining({ event: 'token.issued', dpop_jkt: jkt })]);
  });

  it('a client with dpop_bound_access_tokens gets bound tokens with a proof', async () => {
    const { response, handle } = await dpopExchange(sts, 'bound');
    expect(response.token_type).toBe('dpop');
    expect(claimsOf(response.access_token).cnf).toEqual({ jkt: await handle.calculateThumbprint() });
  });

  it('htu equal after RFC 3986 normalisation (case, default port, percent-encoding): issued', async () => {
    const { protocol, host, pathname } = new URL(sts.tokenEndpoint);
    const encoded = pathname.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
    const htu = `${protocol.toUpperCase()}//${host.toUpperCase()}${encoded}?q=1#f`;
    const res = await postToken(sts, await exchange(), { ...asAgent, headers: { dpop: await proof(k1, { htu }) } });
    expect({ status: res.status, token_type: res.body.token_type }).toEqual({ status: 200, token_type: 'DPoP' });
  });

  it('without a proof the token is Bearer and unbound', async () => {
    const res = await postToken(sts, await exchange(), asAgent);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(claimsOf(res.body.access_token as string).cnf).toBeUndefined();
    expect(sts.audit.lines.at(-1)!.dpop_jkt).toBeUndefined();
  });

  describe('server nonces (DPOP_NONCE=required)', () => {
    const nonceSts = useFixture(() => startSts({ DPOP_NONCE: 'required' }));

    it('openid-client picks the nonce up from use_dpop_nonce and retries', async () => {
      const { response, audit } = await dpopExchange(nonceSts(), 'agent');
      expect(response.token_type).toBe('dpop');
      // The first attempt was refused (use_dpop_nonce), the retry issued.
      expect(audit.map((l) => l.error ?? l.event)).toEqual(['use_dpop_nonce', 'token.issued']);
    });

    it('a proof without nonce: 400 use_dpop_nonce with a DPoP-Nonce header; that nonce then works', async () => {
      const res = await refusedAt(nonceSts(), {}, 400, 'use_dpop_nonce', 'DPoP proof must carry the server nonce');
      const nonce = res.headers.get('dpop-nonce');
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const ok = await postToken(nonceSts(), await exchange(), {
        ...asAgent,
        headers: { dpop: await proofFor(nonceSts(), k1, { nonce }) },
      });
      expect(ok.status).toBe(200);
      expect(ok.body.token_type).toBe('DPoP');
    });

    it('an unknown nonce: 400 use_dpop_nonce', async () => {
      const nonce = 'made-up-nonce';
      const res = await refusedAt(nonceSts(), { nonce }, 400, 'use_dpop_nonce', 'DPoP proof nonce is stale or unknown');
      expect(res.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  });
});

describe('refusals: invalid_dpop_proof (400)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const rows: Array<[name: string, make: () => Promise<string>, description: string]> = [
    ['wrong htu (other path)', () => proof(k1, { htu: `${sts.issuer}/oauth/introspect` }), ''],
    ['wrong htu (other origin)', () => proof(k1, { htu: 'https://sts.example.com/oauth/token' }), ''],
    ['wrong htm', () => proof(k1, { htm: 'GET' }), 'DPoP proof htm must be POST'],
    ['stale iat', () => proof(k1, { iat: now() - 400 }), 'DPoP proof iat is older than 300 s'],
    ['iat in the future', () => proof(k1, { iat: now() + 120 }), 'DPoP proof iat is in the future'],
    ['typ JWT', () => proof(k1, {}, { typ: 'JWT' }), 'DPoP proof typ must be dpop+jwt'],
    ['no typ', () => proof(k1, {}, { typ: undefined }), 'DPoP proof typ must be dpop+jwt'],
    [
      'alg HS256',
      async () => {
        const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const header = { alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } };
        const claims = { jti: randomUUID(), htm: 'POST', htu: sts.tokenEndpoint, iat: now() };
        return `${b64(header)}.${b64(claims)}.c2lnbmF0dXJl`;
      },
      "DPoP proof alg 'HS256' is not accepted; use one of ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA, Ed25519",
    ],
    [
      'alg none',
      async () => {
        const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: k1.publicJwk })}.${b64({ jti: randomUUID(), htm: 'POST', htu: sts.tokenEndpoint, iat: now() })}.`;
      },
      'DPoP proof is not a well-formed JWT',
    ],
    [
      'private key in the jwk header',
      async () => proof(k1, {}, { jwk: await exportJWK(k1.privateKey) }),
      'DPoP proof jwk header must be a public key (it holds private key material)',
    ],
    [
      'jwk of another key than the signer',
      () => proof(k1, {}, { jwk: k2.publicJwk }),
      'DPoP proof signature is invalid',
    ],
    [
      'crit naming an unknown extension',
      async () => {
        const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const header = { alg: 'ES256', typ: 'dpop+jwt', jwk: k1.publicJwk, crit: ['urn:x'], 'urn:x': 1 };
        const input = `${b64(header)}.${b64({ jti: randomUUID(), htm: 'POST', htu: sts.tokenEndpoint, iat: now() })}`;
        const signature = await crypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-256' },
          k1.privateKey,
          Buffer.from(input),
        );
        return `${input}.${Buffer.from(signature).toString('base64url')}`;
      },
      'DPoP proof crit header parameter names an extension actbridge does not support',
    ],
    ['no jti', () => proof(k1, { jti: undefined }), 'DPoP proof jti claim is missing or invalid'],
    ['not a JWT', async () => 'not-a-jwt', 'DPoP proof is not a well-formed JWT'],
  ];

  it.each(rows)('%s', async (...row) => {
    const [, make, description] = row;
    await refused(
      await exchange(),
      { ...asAgent, headers: { dpop: await make() } },
      400,
      'invalid_dpop_proof',
      description || `DPoP proof htu must be ${sts.tokenEndpoint}`,
    );
  });

  it('missing proof for a client with dpop_bound_access_tokens', async () => {
    await refused(
      await exchange(),
      asBound,
      400,
      'invalid_dpop_proof',
      'a DPoP proof is required for this client (dpop_bound_access_tokens)',
    );
  });

  it('a replayed proof (same jti): the first use issues, the second is refused', async () => {
    const dpop = await proof(k1);
    expect((await postToken(sts, await exchange(), { ...asAgent, headers: { dpop } })).status).toBe(200);
    await refused(
      await exchange(),
      { ...asAgent, headers: { dpop } },
      400,
      'invalid_dpop_proof',
      'DPoP proof has already been used (jti replay)',
    );
  });

  it('two DPoP headers', async () => {
    const [a, b] = [await proof(k1), await proof(k1)];
    const body = new URLSearchParams(await exchange()).toString();
    const before = sts.audit.lines.length;
    const { status, json } = await jsonRequest(
      (onResponse) =>
        httpRequest(
          sts.tokenEndpoint,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`,
              // Two separate header lines, as Node sends an array.
              dpop: [a, b],
            },
          },
          onResponse,
        ),
      body,
    );
    expect({ status, json }).toEqual({
      status: 400,
      json: { error: 'invalid_dpop_proof', error_description: 'send exactly one DPoP header' },
    });
    expect(sts.audit.lines.length).toBe(before + 1);
  });
});

describe('DPoP-bound subject tokens need a proof by the same key', () => {
  /** Agent obtains a token bound to k1 and addressed to agent-2, which exchanges it onward. */
  async function boundHop1(): Promise<string> {
    const res = await postToken(sts, await exchange({ audience: 'agent-2' }), {
      ...asAgent,
      headers: { dpop: await proof(k1) },
    });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).cnf).toEqual({ jkt: k1.jkt });
    return res.body.access_token as string;
  }
  const asAgent2 = { basic: ['agent-2', SECRET] as [string, string] };
  const hop2 = (subjectToken: string) => ({
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: TT.accessToken,
    audience: API,
  });

  it('with a proof by the bound key: issued, and the new token stays bound to it', async () => {
    const res = await postToken(sts, hop2(await boundHop1()), { ...asAgent2, headers: { dpop: await proof(k1) } });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(claimsOf(res.body.access_token as string)).toMatchObject({
      cnf: { jkt: k1.jkt },
      act: { sub: 'agent-2', act: { sub: 'agent' } },
    });
  });

  it('without a proof: 400 invalid_request', async () => {
    await refused(
      hop2(await boundHop1()),
      asAgent2,
      400,
      'invalid_request',
      'subject_token is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key',
    );
  });

  it('with a proof by another key (proof key ≠ cnf.jkt): 400 invalid_request', async () => {
    await refused(
      hop2(await boundHop1()),
      { ...asAgent2, headers: { dpop: await proof(k2) } },
      400,
      'invalid_request',
      'subject_token is DPoP-bound to a different key than the DPoP proof',
    );
  });

  it('an upstream token bound with cnf.jkt is held to the same rule', async () => {
    const bound = await userToken({ cnf: { jkt: k2.jkt } });
    await refused(
      await exchange({ subject_token: bound }),
      { ...asAgent, headers: { dpop: await proof(k1) } },
      400,
      'invalid_request',
      'subject_token is DPoP-bound to a different key than the DPoP proof',
    );
    const ok = await postToken(sts, await exchange({ subject_token: bound }), {
      ...asAgent,
      headers: { dpop: await proof(k2) },
    });
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.body.access_token as string).cnf).toEqual({ jkt: k2.jkt });
  });

  it.each([
    [
      'mTLS binding (x5t#S256)',
      { 'x5t#S256': 'abc' },
      'subject_token is sender-constrained by a method actbridge cannot verify (only cnf.jkt is supported)',
    ],
    ['jkt not a string', { jkt: 42 }, 'subject_token has a malformed cnf.jkt claim'],
    // No proof's key has a thumbprint other than 43 base64url characters: such a token could never be used.
    ['jkt not a SHA-256 thumbprint', { jkt: 'not-a-thumbprint' }, 'subject_token has a malformed cnf.jkt claim'],
    ['cnf not an object', 'jkt', 'subject_token has a malformed cnf claim'],
  ])('a subject token with %s: 400 invalid_request', async (...row) => {
    const [, cnf, description] = row;
    await refused(
      await exchange({ subject_token: await userToken({ cnf }) }),
      { ...asAgent, headers: { dpop: await proof(k1) } },
      400,
      'invalid_request',
      description,
    );
  });
});

describe('replay store down', () => {
  const downSts = useFixture(() => startSts({ REDIS_URL: 'redis://127.0.0.1:1' }));

  it('a DPoP proof cannot be checked for single use: 503 temporarily_unavailable', async () => {
    const description = 'cannot verify DPoP proof single use right now; retry later';
    await refusedAt(downSts(), {}, 503, 'temporarily_unavailable', description);
  }, 20000);
});
