import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { freePort } from '../support/free-port.js';
import { GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient, clientAssertion } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { describeWithRedis, REDIS_TEST_URL } from '../support/redis.js';
import { useInstancePair, useTestApp } from '../support/fixture.js';
import { expectReady } from '../support/health.js';
import { ConfigReloader } from '../../src/app/config-reloader.js';

/**
 * Single-use state shared through Redis (REDIS_URL), and failing closed without it: a single-use
 * ID-JAG redeemed at one instance is refused at another; with Redis unreachable, every replay-sensitive
 * check answers 503 temporarily_unavailable while requests that need no replay store keep working; a
 * spent jti stays spent when its anchor file is renamed.
 */

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TODOS = 'https://todos.b.example/';
const SECRET = 'chat-agent-secret-at-b-0123';
const asAgent = { basic: ['chat-agent-at-b', SECRET] as [string, string] };

let once: TestIssuer; // ID-JAGs single use
let reusable: TestIssuer; // ID-JAGs re-presentable until exp
let ci: TestIssuer; // plain RFC 7523, single use by default
let pkKey: CryptoKey;

/** The instance's configuration; without `redis`, the in-memory replay store. */
async function options(issuer: string, redis?: { url: string; timeoutMs: number }) {
  const pair = await generateKeyPair('ES256', { extractable: true });
  pkKey = pair.privateKey;
  return {
    anchors: {
      once: { issuer: once.issuer, jwks: once.publicJwks, audiences: [issuer], id_jag: { jti: 'single_use' } },
      reusable: {
        issuer: reusable.issuer,
        jwks: reusable.publicJwks,
        audiences: [issuer],
        id_jag: { jti: 'reusable' },
      },
      ci: { issuer: ci.issuer, jwks: ci.publicJwks, audiences: [issuer], jwt_bearer: { subjects: ['*'] } },
    },
    clients: [
      basicClient('chat-agent-at-b', SECRET, {
        grant_types: [JWT_BEARER, GRANT_TOKEN_EXCHANGE],
        audiences: [TODOS],
        default_audience: TODOS,
        scopes: ['todos.read'],
      }),
      {
        client_id: 'pk',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'pk-1', alg: 'ES256' }] },
        audiences: [TODOS],
      },
    ],
    env: { ISSUER: issuer, ...(redis && { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(redis.timeoutMs) }) },
  };
}

const idJag = (issuer: TestIssuer, aud: string) =>
  issuer.mint({ sub: 'alice', aud, client_id: 'chat-agent-at-b', scope: 'todos.read' }, { typ: 'oauth-id-jag+jwt' });

beforeAll(async () => {
  [once, reusable, ci] = await Promise.all([
    createTestIssuer('https://idp-once.example'),
    createTestIssuer('https://idp-reusable.example'),
    createTestIssuer('https://ci.example'),
  ]);
});

const describeRedis = await describeWithRedis();

describeRedis(`two instances sharing Redis (${REDIS_TEST_URL})`, () => {
  // A generous bound: on a busy machine a slow answer must not pass for an outage.
  const instances = useInstancePair((issuer) => options(issuer, { url: REDIS_TEST_URL, timeoutMs: 10_000 }));

  it('a single-use ID-JAG accepted by instance 1 is refused by instance 2', async () => {
    const { a, b, issuer } = instances;
    const assertion = await idJag(once, issuer);
    expect((await postToken(a, { grant_type: JWT_BEARER, assertion }, asAgent)).status).toBe(200);
    const replay = await postToken(b, { grant_type: JWT_BEARER, assertion }, asAgent);
    expect({ status: replay.status, body: replay.body }).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'assertion has already been used (jti replay)' },
    });
  });

  it('a reusable ID-JAG is accepted by both', async () => {
    const { a, b, issuer } = instances;
    const assertion = await idJag(reusable, issuer);
    expect((await postToken(a, { grant_type: JWT_BEARER, assertion }, asAgent)).status).toBe(200);
    expect((await postToken(b, { grant_type: JWT_BEARER, assertion }, asAgent)).status).toBe(200);
  });

  it('a plain RFC 7523 assertion is single use across instances too', async () => {
    const { a, b, issuer } = instances;
    const assertion = await ci.mint({ sub: 'svc', aud: issuer }, { typ: 'JWT' });
    expect((await postToken(b, { grant_type: JWT_BEARER, assertion }, asAgent)).status).toBe(200);
    expect((await postToken(a, { grant_type: JWT_BEARER, assertion }, asAgent)).body).toEqual({
      error: 'invalid_grant',
      error_description: 'assertion has already been used (jti replay)',
    });
  });

  it('readiness reports the Redis store up', async () => {
    await expectReady(instances.a.baseUrl, 3, { store: 'redis', status: 'up', connection: 'ready' });
  });
});

// RFC 7519 §4.1.7: a jti is unique per issuer. The anchor's name (its file name) only labels audit lines
// and metrics: renaming it, or a replica still on the old files, must not make a spent jti fresh again.
describe("single use outlives a rename of the issuer's anchor (reload)", () => {
  const sts = useTestApp((issuer) => options(issuer));

  it('a spent ID-JAG or RFC 7523 assertion is refused after its anchor file is renamed and reloaded', async () => {
    const app = sts();
    const spentIdJag = await idJag(once, app.issuer);
    const spentAssertion = await ci.mint({ sub: 'svc', aud: app.issuer }, { typ: 'JWT' });
    for (const assertion of [spentIdJag, spentAssertion]) {
      expect((await postToken(app, { grant_type: JWT_BEARER, assertion }, asAgent)).status).toBe(200);
    }
    const anchors = join(app.dir, 'trust-anchors');
    renameSync(join(anchors, 'once.yaml'), join(anchors, 'partner-idp.yaml'));
    renameSync(join(anchors, 'ci.yaml'), join(anchors, 'ci-prod.yaml'));
    expect(await app.app.get(ConfigReloader).reload('manual')).toMatchObject({ outcome: 'success' });

    for (const [assertion, anchor] of [
      [spentIdJag, 'partner-idp'],
      [spentAssertion, 'ci-prod'],
    ] as const) {
      const replay = await postToken(app, { grant_type: JWT_BEARER, assertion }, asAgent);
      expect({ status: replay.status, body: replay.body }).toEqual({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'assertion has already been used (jti replay)' },
      });
      expect(app.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', error: 'invalid_grant', anchor });
    }
  });
});

// Needs no Redis: the point is that there is none.
describe('Redis unreachable (REDIS_URL at a closed port): fail closed', () => {
  let sts: TestApp;

  beforeAll(async () => {
    const port = await freePort();
    const closed = await freePort(); // free a moment ago, nobody listens there
    sts = await startTestApp({
      port,
      ...(await options(`http://127.0.0.1:${port}`, { url: `redis://127.0.0.1:${closed}`, timeoutMs: 500 })),
    });
  });
  afterAll(async () => {
    await sts?.close();
  });

  const unavailable = (what: string) => ({
    status: 503,
    body: {
      error: 'temporarily_unavailable',
      error_description: `cannot verify ${what} single use right now (replay store unavailable); retry later`,
    },
  });

  it('refuses a single-use ID-JAG with 503 temporarily_unavailable, and audits it', async () => {
    const res = await postToken(sts, { grant_type: JWT_BEARER, assertion: await idJag(once, sts.issuer) }, asAgent);
    expect({ status: res.status, body: res.body }).toEqual(unavailable('the ID-JAG'));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      error: 'temporarily_unavailable',
      reason: expect.stringMatching(/^replay store error: /),
    });
  });

  it('refuses a single-use RFC 7523 assertion with 503', async () => {
    const assertion = await ci.mint({ sub: 'svc', aud: sts.issuer }, { typ: 'JWT' });
    const res = await postToken(sts, { grant_type: JWT_BEARER, assertion }, asAgent);
    expect({ status: res.status, body: res.body }).toEqual(unavailable('the assertion'));
  });

  it('refuses private_key_jwt client authentication (single-use jti) with 503', async () => {
    const assertion = await clientAssertion(pkKey, { kid: 'pk-1' }, 'pk', sts.issuer);
    const res = await postToken(sts, {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: await reusable.mint({ sub: 'alice', aud: sts.issuer }),
      subject_token_type: TT.accessToken,
      audience: TODOS,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
  });

  it('issues nothing without recording its lineage, even what needs no replay store: a reusable ID-JAG, a token exchange', async () => {
    // A token whose lineage is not recorded would escape a later cascade revocation (docs/lineage.md).
    const unavailable = {
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'cannot record the token lineage right now; retry later',
      },
    };
    const redeemed = await postToken(
      sts,
      { grant_type: JWT_BEARER, assertion: await idJag(reusable, sts.issuer) },
      asAgent,
    );
    expect({ status: redeemed.status, body: redeemed.body }).toEqual(unavailable);
    const exchanged = await postToken(
      sts,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: await reusable.mint({ sub: 'alice', aud: sts.issuer, scope: 'todos.read' }),
        subject_token_type: TT.accessToken,
      },
      asAgent,
    );
    expect({ status: exchanged.status, body: exchanged.body }).toEqual(unavailable);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      error: 'temporarily_unavailable',
      reason: expect.stringMatching(/^revocation store error: /),
    });
  });

  it('readiness is 503 with the store state; liveness stays 200', async () => {
    const ready = await fetch(`${sts.baseUrl}/health/ready`);
    const body = (await ready.json()) as { status: string; replay_store: Record<string, unknown> };
    expect(ready.status).toBe(503);
    expect(body).toMatchObject({ status: 'not_ready', replay_store: { store: 'redis', status: 'down' } });
    expect(JSON.stringify(body)).not.toContain('redis://'); // no URL (or credentials) in the answer
    expect((await fetch(`${sts.baseUrl}/health/live`)).status).toBe(200);
  });
});
