import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { dpopProof, newDpopKey } from '../support/dpop.js';
import { freePort } from '../support/free-port.js';
import { describeWithRedisServer, startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { base64url, createSamlTestIdp, type SamlTestIdp } from '../support/saml-idp.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient, clientAssertion } from '../support/clients.js';
import { expectTokenRefused } from '../support/errors.js';
import { readiness } from '../support/health.js';
import { subjectKey } from '../../src/stores/lineage-keys.js';

/**
 * The shared replay store forgetting everything (a redis-server of the test's own, keeping nothing on
 * disk, restarted empty): actbridge notices through the store's epoch marker and refuses what needs the
 * lost memory until the longest single-use window has passed, or an operator confirms. Windows are
 * seconds here: SAML max_assertion_lifetime 10 s, no clock skew, tokens of 5 s.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const SP_ENTITY_ID = 'https://actbridge.example/saml';
const API = 'https://api.example/';
const SECRET = 'agent-secret-0123456789';
const asAgent = { basic: ['agent', SECRET] as [string, string] };
/** SAML window 10 s + 2 × skew 0 + 1 s of Redis's whole-second expiry. */
const REPLAY_WINDOW_S = 11;

const describeServer = describeWithRedisServer();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeServer('replay memory across a restart of the store', () => {
  let redis: OwnRedis;
  let sts: TestApp;
  let idp: SamlTestIdp;
  let jwtIdp: TestIssuer;
  let clientKey: CryptoKey;

  const samlExchange = (xml: string) =>
    postToken(
      sts,
      { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: base64url(xml), subject_token_type: TT.saml2 },
      asAgent,
    );
  const jwtExchange = async () => ({
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: await jwtIdp.mint({ sub: 'alice', aud: sts.issuer }),
    subject_token_type: TT.accessToken,
  });
  const assertion = () => {
    const soon = new Date(Date.now() + 8000);
    return idp.signedAssertion({ recipient: sts.tokenEndpoint, notOnOrAfter: soon, confirmationNotOnOrAfter: soon });
  };
  /** POSTs a form to one of actbridge's OAuth endpoints as the agent (or another client of the same secret). */
  const asAgentPost = async (path: string, form: Record<string, string>, clientId = 'agent') => {
    const res = await fetch(`${sts.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams(form),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const ready = () => readiness(sts.baseUrl);
  const storeCli = (...args: string[]) =>
    run(process.execPath, ['dist/cli/store.js', ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redis.url,
        ISSUER: sts.issuer,
        TRUST_ANCHORS_DIR: join(sts.dir, 'trust-anchors'),
        CLIENTS_FILE: join(sts.dir, 'clients.yaml'),
        ...ENV,
      },
    });
  const ENV = {
    CLOCK_SKEW: '0',
    TOKEN_TTL: '5',
    MAX_TOKEN_TTL: '5',
    ID_JAG_TTL: '5',
    CLIENT_ASSERTION_MAX_LIFETIME: '1',
    DPOP_PROOF_MAX_AGE: '5',
    SAML_SP_ENTITY_ID: SP_ENTITY_ID,
  };

  beforeAll(async () => {
    const port = await freePort();
    idp = await createSamlTestIdp({
      entityId: 'https://idp.example/saml',
      spEntityId: SP_ENTITY_ID,
      tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`,
    });
    jwtIdp = await createTestIssuer('https://jwt-idp.example');
    const keys = await generateKeyPair('ES256', { extractable: true });
    clientKey = keys.privateKey;
    const clientJwk = { ...(await exportJWK(keys.publicKey)), kid: 'pk-1', alg: 'ES256' };
    // Started last: the first test must see it younger than the replay window (it is dated from its start).
    redis = await startOwnRedis();
    sts = await startTestApp({
      port,
      anchors: {
        idp: {
          kind: 'saml',
          issuer: idp.entityId,
          saml: { certificates: [idp.certificate], max_assertion_lifetime: 10 },
        },
        jwt: { issuer: jwtIdp.issuer, jwks: jwtIdp.publicJwks, audiences: [`http://127.0.0.1:${port}`] },
      },
      clients: [
        basicClient('agent', SECRET, { audiences: [API], default_audience: API }),
        basicClient('operator', SECRET, { audiences: [], grant_types: [], revocation_admin: true }),
        {
          client_id: 'pk',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [clientJwk] },
          audiences: [API],
          default_audience: API,
        },
      ],
      env: { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '5000', ...ENV },
    });
  });

  afterAll(async () => {
    await sts?.close();
    await redis?.stop();
  });

  it('does not trust a store it finds without marker and younger than the window, until an operator confirms', async () => {
    // The store was started a moment ago: an empty store, as a new one or one that just lost its data.
    // On a loaded machine the first connection may still be under way: wait for it, not for a verdict.
    const deadline = Date.now() + 10_000;
    while (((await ready()).body.replay_store as { status: string }).status === 'down' && Date.now() < deadline) {
      await sleep(100);
    }
    expect(await ready()).toMatchObject({
      status: 503,
      body: { status: 'not_ready', replay_store: { store: 'redis', status: 'lost', memory: 'lost' } },
    });
    const refused = await samlExchange(assertion());
    expect(refused.status).toBe(503);

    const { stdout } = await storeCli('confirm-reset', '--note', 'new store, nothing to lose');
    expect(stdout).toMatch(/^confirmed: epoch \S+; .*\(note: new store, nothing to lose\)\n$/);
    await sleep(1000); // an instance looks at the marker again at most once a second while refusing
    expect(await ready()).toEqual({
      status: 200,
      body: {
        status: 'ready',
        replay_store: { store: 'redis', status: 'up', connection: 'ready' },
        trust_anchors: { usable: 2, configured: 2 },
      },
    });

    // A note (or a marker written by anyone with access to the store) cannot forge terminal output.
    const hostile = await storeCli('confirm-reset', '--note', 'ok\nconfirmed: forged \u001b[2J');
    expect(hostile.stdout).toMatch(/ \(note: ok\\u000aconfirmed: forged \\u001b\[2J\)\n$/);
    expect((await storeCli('status')).stdout).toMatch(/\nconfirmed at \S+: ok\\u000aconfirmed: forged \\u001b\[2J\n$/);
  });

  it('refuses replays and revocation checks after the store restarted empty, until the windows have passed', async () => {
    const consumed = assertion();
    expect((await samlExchange(consumed)).status).toBe(200);
    expect((await samlExchange(consumed)).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token has already been used (assertion ID replay)',
    });

    // A token actbridge issued, then revoked: introspection says it is no longer active.
    const issued = await postToken(sts, await jwtExchange(), asAgent);
    const revoked = issued.body.access_token as string;
    expect((await asAgentPost('/oauth/revoke', { token: revoked })).status).toBe(200);
    expect(await asAgentPost('/oauth/introspect', { token: revoked })).toEqual({
      status: 200,
      body: { active: false },
    });

    await redis.restartEmpty();
    const lostBy = Date.now();
    // Once reconnected (readiness no longer "down"), the consumed assertion, still within its lifetime,
    // is presented again: the empty store alone would take it for new.
    let health = await ready();
    while ((health.body.replay_store as { status: string }).status === 'down' || health.status === 200) {
      if (Date.now() - lostBy > 5000) break;
      await sleep(50);
      health = await ready();
    }
    // An upstream token is exchanged meanwhile (nothing it descends from can have been forgotten but
    // root and subject revocations). docs/operations.md: a subject revocation made before the loss is
    // forgotten with it, and the operator repeats it: served now (it only adds refusals), audited,
    // reaching what was issued since the loss; the subject's tokens are then refused as revoked.
    const mallory = async () => ({
      ...(await jwtExchange()),
      subject_token: await jwtIdp.mint({ sub: 'mallory', aud: sts.issuer }),
    });
    expect((await postToken(sts, await mallory(), asAgent)).status).toBe(200);
    const repeated = await asAgentPost('/admin/revoke', { root_issuer: jwtIdp.issuer, sub: 'mallory' }, 'operator');
    expect(repeated).toEqual({
      status: 200,
      body: { revoked: subjectKey(jwtIdp.issuer, 'mallory'), descendants_revoked: 1 },
    });
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.revoked',
      revoked_by: 'admin',
      descendants_revoked: 1,
    });
    const again = await mallory();
    await expectTokenRefused(sts, () => postToken(sts, again, asAgent), {
      status: 400,
      error: 'invalid_request',
      description: 'subject_token has been revoked',
    });

    const replay = await expectTokenRefused(sts, () => samlExchange(consumed), {
      status: 503,
      error: 'temporarily_unavailable',
      description: 'cannot verify single use of the subject_token right now; retry later',
    });
    expect(Number(replay.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(replay.headers.get('retry-after'))).toBeLessThanOrEqual(REPLAY_WINDOW_S);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      error: 'temporarily_unavailable',
      client_id: 'agent',
      reason: expect.stringMatching(
        /^replay store: single-use memory lost \(the store lost its data .*\); refusing until \S+ or an operator's confirm-reset$/,
      ),
    });

    // Readiness says why, and until when.
    expect(health).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        replay_store: {
          store: 'redis',
          status: 'lost',
          connection: 'ready',
          memory: 'lost',
          lost_at: expect.any(String),
          reason: 'the store lost its data (epoch marker gone: restarted without persistence, or flushed)',
          replay_checks_resume_at: expect.any(String),
          revocation_checks_resume_at: expect.any(String),
        },
        trust_anchors: { usable: 2, configured: 2 },
      },
    });
    const replayResumes = Date.parse((health.body.replay_store as Record<string, string>).replay_checks_resume_at!);
    expect(replayResumes - Date.parse((health.body.replay_store as Record<string, string>).lost_at!)).toBe(
      REPLAY_WINDOW_S * 1000,
    );

    // A fresh assertion is refused too: no single-use check can be trusted yet.
    expect((await samlExchange(assertion())).status).toBe(503);

    // So are the other single-use identifiers: client assertion jtis and DPoP proofs.
    const form = await jwtExchange();
    // exp is at most 1 s ahead (CLIENT_ASSERTION_MAX_LIFETIME) and expires when the clock's second turns:
    // start at the top of a second, so that the assertion is not expired by the time it arrives.
    await sleep(1020 - (Date.now() % 1000));
    const now = Math.floor(Date.now() / 1000);
    const byAssertion = await postToken(sts, {
      ...form,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(clientKey, { kid: 'pk-1' }, 'pk', sts.issuer, {
        jti: `ca-${now}`,
        iat: undefined,
        exp: now + 1,
      }),
    });
    expect({ status: byAssertion.status, body: byAssertion.body }).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'cannot verify client_assertion single use right now; retry later',
      },
    });
    const withDpop = await postToken(sts, await jwtExchange(), {
      ...asAgent,
      headers: { dpop: await dpopProof(sts.issuer + '/oauth/token', await newDpopKey()) },
    });
    expect({ status: withDpop.status, body: withDpop.body }).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'cannot verify DPoP proof single use right now; retry later',
      },
    });
    expect(withDpop.headers.get('retry-after')).toMatch(/^\d+$/);

    // The revocation is forgotten with the rest: introspection cannot say "not revoked" now.
    expect(await asAgentPost('/oauth/introspect', { token: revoked })).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'cannot check token revocation right now; retry later',
      },
    });

    // What needs no single-use memory keeps being served.
    expect((await postToken(sts, await jwtExchange(), asAgent)).status).toBe(200);

    const { stdout } = await storeCli('status');
    expect(stdout).toMatch(
      /^epoch \S+\nlost at \S+: the store lost its data .*\nreplay-sensitive requests: refused until /,
    );

    // Once every identifier the store could have lost has expired, checks resume by themselves.
    await sleep(Math.max(0, replayResumes - Date.now()) + 100);
    expect((await samlExchange(consumed)).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token has expired (NotOnOrAfter)',
    });
    expect((await samlExchange(assertion())).status).toBe(200);
    expect((await ready()).status).toBe(200);
  }, 30_000);
});
