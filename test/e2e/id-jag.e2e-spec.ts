import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { loadStsConfig } from '../../src/app/sts-config.js';
import { freePort } from '../support/free-port.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient } from '../support/clients.js';
import { dpopProof, newDpopKey, type DpopKey } from '../support/dpop.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { expectReady } from '../support/health.js';
import { base64url, createSamlTestIdp, type SamlTestIdp } from '../support/saml-idp.js';

/**
 * Cross App Access between two trust domains, over real HTTP on loopback, with real peers:
 *   upstream IdP = oidc-provider, issuing the user's ID token to the client (CIBA, auto-approved);
 *   domain A     = actbridge as the IdP authorization server: id_token → ID-JAG (token exchange);
 *   domain B     = a second actbridge, own keys and config, as the resource authorization server:
 *                  ID-JAG → access token (jwt-bearer), A's keys found through A's discovery;
 *   client       = openid-client at both; jose verifying what each domain issued.
 * Then every refusal on both sides, and the plain RFC 7523 profile, with exact code, status and text.
 */

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_JAG_TYP = 'oauth-id-jag+jwt';
const TODOS = 'https://todos.b.example/';
const CALENDAR = 'https://calendar.b.example/';
const DEPLOY = 'https://deploy.b.example/';
const A_SECRET = 'chat-agent-secret-at-a-0123';
const B_SECRET = 'chat-agent-secret-at-b-0123';
const OTHER_B_SECRET = 'other-app-secret-at-b-0123';
const CI_SECRET = 'ci-deployer-secret-0123456';

let upstream: UpstreamIdp;
let domainA: TestApp;
let domainB: TestApp;
let idpC: TestIssuer; // a third IdP trusted by B for single-use ID-JAGs: crafts hostile ones
let ci: TestIssuer; // trusted by B for plain RFC 7523 assertions
let plain: TestIssuer; // trusted by B for subject tokens only (no id_jag, no jwt_bearer)
let stranger: TestIssuer; // trusted by nobody
let saml: SamlTestIdp; // a SAML IdP trusted by A, its assertions addressed to actbridge's own SP
let idToken: string; // alice's ID token, issued by the upstream IdP to chat-agent

const asChatAgentAtA = { basic: ['chat-agent', A_SECRET] as [string, string] };
const asChatAgentAtB = { basic: ['chat-agent-at-b', B_SECRET] as [string, string] };
const asOtherAppAtB = { basic: ['other-app-at-b', OTHER_B_SECRET] as [string, string] };
const asCiDeployer = { basic: ['ci-deployer', CI_SECRET] as [string, string] };

type Response = Awaited<ReturnType<typeof postToken>>;

/** An ID-JAG request at domain A, as the draft's §4.3 example. */
const idJagRequest = (extra: Record<string, string | readonly string[] | undefined> = {}) => ({
  grant_type: GRANT_TOKEN_EXCHANGE,
  requested_token_type: ID_JAG,
  subject_token: idToken,
  subject_token_type: TT.idToken,
  audience: domainB.issuer,
  ...extra,
});

/** An ID-JAG for domain B, crafted by IdP C (valid unless overridden; undefined removes a claim). */
function craftIdJag(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return idpC.mint(
    {
      sub: 'alice',
      aud: domainB.issuer,
      client_id: 'chat-agent-at-b',
      scope: 'todos.read',
      resource: TODOS,
      ...claims,
    },
    { typ: ID_JAG_TYP, ...header },
  );
}

const redeem = (assertion: string, extra: Record<string, string | undefined> = {}, init = asChatAgentAtB) =>
  postToken(domainB, { grant_type: JWT_BEARER, assertion, ...extra }, init);

/** A plain RFC 7523 assertion from the CI issuer (typ JWT). */
function ciAssertion(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return ci.mint(
    { sub: 'repo:acme/api:ref:refs/heads/main', aud: domainB.issuer, ...claims },
    { typ: 'JWT', ...header },
  );
}

beforeAll(async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const issuerA = `http://127.0.0.1:${portA}`;
  const issuerB = `http://127.0.0.1:${portB}`;
  upstream = await startUpstreamIdp({
    clients: [
      { client_id: 'chat-agent', client_secret: 'chat-agent-upstream-secret' },
      { client_id: 'other-app', client_secret: 'other-app-upstream-secret' },
    ],
    resources: { [issuerA]: { scope: 'profile' } },
  });
  [idpC, ci, plain, stranger] = await Promise.all([
    createTestIssuer('https://idp-c.example'),
    createTestIssuer('https://ci.example', 'RS256'),
    createTestIssuer('https://plain.example'),
    createTestIssuer('https://idp-c.example'), // same iss as C, other key: trusted by nobody
  ]);

  saml = await createSamlTestIdp({
    entityId: 'https://saml-sso.example/idp',
    spEntityId: issuerA,
    tokenEndpoint: `${issuerA}/oauth/token`,
  });

  domainA = await startTestApp({
    port: portA,
    anchors: {
      upstream: { issuer: upstream.issuer, audiences: [issuerA] },
      'idp-c': { issuer: idpC.issuer, jwks: idpC.publicJwks, audiences: [issuerA] },
      'saml-sso': { kind: 'saml', issuer: saml.entityId, saml: { certificates: [saml.certificate] } },
    },
    clients: [
      basicClient('chat-agent', A_SECRET, {
        audiences: [],
        id_jag: {
          targets: [
            {
              audience: issuerB,
              client_id: 'chat-agent-at-b',
              resources: [TODOS, CALENDAR],
              scopes: ['todos.read', 'todos.write'],
            },
            // A target granting no scope.
            { audience: 'https://as.noscope.example', client_id: 'chat-agent-at-noscope' },
          ],
        },
      }),
      basicClient('plain-client', 'plain-client-secret-0123', { audiences: ['https://api.a.example/'] }),
      basicClient('operator', 'operator-secret-0123456789', { grant_types: [], audiences: [], revocation_admin: true }),
    ],
  });

  domainB = await startTestApp({
    port: portB,
    anchors: {
      // Domain A's keys through A's discovery; ID-JAGs re-presentable until exp (the draft's default).
      'domain-a': { issuer: issuerA, audiences: [issuerB], id_jag: {} },
      'idp-c': { issuer: idpC.issuer, jwks: idpC.publicJwks, audiences: [issuerB], id_jag: { jti: 'single_use' } },
      ci: {
        issuer: ci.issuer,
        jwks: ci.publicJwks,
        audiences: [issuerB],
        jwt_bearer: { subjects: ['repo:acme/**'], scopes: ['deploy', 'read'], max_age: 600 },
      },
      plain: { issuer: plain.issuer, jwks: plain.publicJwks, audiences: [issuerB] },
    },
    clients: [
      basicClient('chat-agent-at-b', B_SECRET, {
        grant_types: [JWT_BEARER],
        audiences: [TODOS, CALENDAR],
        scopes: ['todos.read', 'todos.write'],
      }),
      basicClient('other-app-at-b', OTHER_B_SECRET, {
        grant_types: [JWT_BEARER],
        audiences: [TODOS],
        scopes: ['todos.read'],
      }),
      basicClient('ci-deployer', CI_SECRET, {
        grant_types: [JWT_BEARER],
        audiences: [DEPLOY],
        default_audience: DEPLOY,
        scopes: ['deploy', 'read', 'admin'],
      }),
      basicClient('exchange-only', 'exchange-only-secret-0123', { audiences: [TODOS] }),
    ],
  });

  idToken = await upstream.idToken('alice', 'chat-agent', issuerA);
});

afterAll(async () => {
  await domainB?.close();
  await domainA?.close();
  await upstream?.close();
});

describe('two domains: id_token at A → ID-JAG → access token at B', () => {
  const discover = (issuer: string, clientId: string, secret: string) =>
    client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(secret), {
      execute: [client.allowInsecureRequests],
    });

  it('works with openid-client against both domains, each token verifiable with its issuer keys', async () => {
    // Domain A (the IdP side) advertises ID-JAG issuance.
    const a = await discover(domainA.issuer, 'chat-agent', A_SECRET);
    expect(a.serverMetadata()).toMatchObject({
      identity_chaining_requested_token_types_supported: [ID_JAG],
    });
    const issued = await client.genericGrantRequest(a, GRANT_TOKEN_EXCHANGE, {
      requested_token_type: ID_JAG,
      subject_token: idToken,
      subject_token_type: TT.idToken,
      audience: domainB.issuer,
      resource: TODOS,
      scope: 'todos.read',
    });
    // §4.3.4: token_type N_A (openid-client lower-cases it), no refresh token.
    expect(issued).toMatchObject({
      issued_token_type: ID_JAG,
      token_type: 'n_a',
      scope: 'todos.read',
      expires_in: 300,
    });
    expect(issued.refresh_token).toBeUndefined();

    const idJag = await jwtVerify(
      issued.access_token,
      createRemoteJWKSet(new URL(`${domainA.issuer}/.well-known/jwks.json`)),
      {
        issuer: domainA.issuer,
        audience: domainB.issuer,
        typ: ID_JAG_TYP,
      },
    );
    const upstreamClaims = claimsOf(idToken);
    expect(idJag.payload).toMatchObject({
      sub: 'alice',
      aud: domainB.issuer, // a string: exactly one audience
      client_id: 'chat-agent-at-b', // the client's id *at B*, from A's policy
      resource: TODOS,
      scope: 'todos.read',
      sub_id: { format: 'iss_sub', iss: upstream.issuer, sub: 'alice' },
      jti: expect.any(String),
    });
    expect(idJag.payload.exp! - idJag.payload.iat!).toBeLessThanOrEqual(300);
    expect(idJag.payload.exp).toBeLessThanOrEqual(upstreamClaims.exp as number);
    expect(typeof upstreamClaims.auth_time).toBe('number');
    expect(idJag.payload.auth_time).toBe(upstreamClaims.auth_time);
    expect(domainA.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      client_id: 'chat-agent',
      subject_token_type: TT.idToken,
      subject: { sub: 'alice', iss: upstream.issuer },
      audience: [domainB.issuer],
      issued_token_type: ID_JAG,
      jti: idJag.payload.jti,
    });

    // Domain B (the resource side) advertises the ID-JAG grant profile and jwt-bearer.
    const b = await discover(domainB.issuer, 'chat-agent-at-b', B_SECRET);
    expect(b.serverMetadata().authorization_grant_profiles_supported).toEqual([
      'urn:ietf:params:oauth:grant-profile:id-jag',
    ]);
    expect(b.serverMetadata().grant_types_supported).toContain(JWT_BEARER);
    const token = await client.genericGrantRequest(b, JWT_BEARER, { assertion: issued.access_token });
    expect(token).toMatchObject({ token_type: 'bearer', scope: 'todos.read' });
    expect(token.refresh_token).toBeUndefined(); // §4.4.3: SHOULD NOT

    const at = await jwtVerify(
      token.access_token,
      createRemoteJWKSet(new URL(`${domainB.issuer}/.well-known/jwks.json`)),
      {
        issuer: domainB.issuer,
        audience: TODOS,
        typ: 'at+jwt',
      },
    );
    expect(at.payload).toMatchObject({
      sub: 'alice',
      client_id: 'chat-agent-at-b',
      scope: 'todos.read',
      sub_id: { format: 'iss_sub', iss: domainA.issuer, sub: 'alice' },
    });
    expect(at.payload.exp).toBeLessThanOrEqual(idJag.payload.exp!);
    // The user's login, carried through both domains (RFC 9068 §2.2.1), for a resource that asks for a fresh one.
    expect(at.payload.auth_time).toBe(upstreamClaims.auth_time);
    expect(at.protectedHeader.kid).not.toBe(idJag.protectedHeader.kid); // B signs with its own key
    expect(domainB.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      grant_type: JWT_BEARER,
      client_id: 'chat-agent-at-b',
      assertion_type: ID_JAG,
      subject: { sub: 'alice', iss: domainA.issuer },
      audience: [TODOS],
    });

    // §4.4.4: without a single-use policy, the ID-JAG is re-presented until exp for a fresh token.
    const again = await client.genericGrantRequest(b, JWT_BEARER, { assertion: issued.access_token });
    expect(again.access_token).not.toBe(token.access_token);
  });

  it('grants all the policy allows when no scope is requested, and several resources', async () => {
    const res = await postToken(domainA, idJagRequest({ resource: [TODOS, CALENDAR] }), asChatAgentAtA);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ scope: 'todos.read todos.write', token_type: 'N_A' });
    const claims = claimsOf(res.body.access_token as string);
    expect(claims).toMatchObject({ resource: [TODOS, CALENDAR], scope: 'todos.read todos.write' });

    // At B the resources and scopes are ceilings: a subset can be asked for.
    const narrowed = await redeem(res.body.access_token as string, { resource: CALENDAR, scope: 'todos.write' });
    expect(narrowed.status).toBe(200);
    expect(claimsOf(narrowed.body.access_token as string)).toMatchObject({ aud: CALENDAR, scope: 'todos.write' });
  });

  it("domain A's revocation endpoint refuses a live ID-JAG it issued: unsupported_token_type (RFC 7009 §2.2.1), not a 200 saying it was revoked", async () => {
    const revoke = (token: string) =>
      fetch(`${domainA.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`chat-agent:${A_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }),
      });
    const issued = await postToken(domainA, idJagRequest({ resource: TODOS }), asChatAgentAtA);
    const idJag = issued.body.access_token as string;
    const before = domainA.audit.lines.length;
    const res = await revoke(idJag);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 400,
      body: {
        error: 'unsupported_token_type',
        error_description: 'an ID-JAG cannot be revoked here; it expires at its exp',
      },
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(domainA.audit.lines.slice(before)).toEqual([
      expect.objectContaining({ event: 'revocation.refused', error: 'unsupported_token_type' }),
    ]);
    // Still redeemable at B: nothing was revoked.
    expect((await redeem(idJag)).status).toBe(200);
    // One another issuer signed (or garbage) stays a plain 200 (§2.2).
    expect((await revoke(await craftIdJag())).status).toBe(200);
  });
});

describe('DPoP binding across the two domains (ID-JAG §9.8)', () => {
  const newKey = newDpopKey;
  const proof = (app: TestApp, key: DpopKey) => dpopProof(app.tokenEndpoint, key);
  const boundIdJag = async (key: DpopKey): Promise<string> => {
    const res = await postToken(domainA, idJagRequest({ scope: 'todos.read', resource: TODOS }), {
      ...asChatAgentAtA,
      headers: { dpop: await proof(domainA, key) },
    });
    expect(res.status).toBe(200);
    // §9.8: the response still says N_A; the binding is in the ID-JAG itself.
    expect(res.body.token_type).toBe('N_A');
    expect(claimsOf(res.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
    return res.body.access_token as string;
  };

  it('cnf + proof by the same key: a DPoP-bound access token', async () => {
    const key = await newKey();
    const idJag = await boundIdJag(key);
    const res = await postToken(
      domainB,
      { grant_type: JWT_BEARER, assertion: idJag },
      { ...asChatAgentAtB, headers: { dpop: await proof(domainB, key) } },
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(claimsOf(res.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  it('cnf without a proof: invalid_grant', async () =>
    expectTokenRefused(domainB, async () => redeem(await boundIdJag(await newKey())), {
      error: 'invalid_grant',
      description:
        'assertion is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key',
    }));

  it('cnf with a proof by another key: invalid_grant', async () => {
    const idJag = await boundIdJag(await newKey());
    const other = await newKey();
    await expectTokenRefused(
      domainB,
      async () =>
        postToken(
          domainB,
          { grant_type: JWT_BEARER, assertion: idJag },
          { ...asChatAgentAtB, headers: { dpop: await proof(domainB, other) } },
        ),
      { error: 'invalid_grant', description: 'assertion is DPoP-bound to a different key than the DPoP proof' },
    );
  });

  it('a key-bound ID token at domain A: an ID-JAG only with a proof by its key (RFC 9449 §6.1)', async () => {
    const key = await newKey();
    const bound = await idpC.mint({ sub: 'alice', aud: 'chat-agent', cnf: { jkt: key.jkt } }, { typ: 'JWT' });
    const request = idJagRequest({ subject_token: bound, scope: 'todos.read', resource: TODOS });
    await expectTokenRefused(domainA, () => postToken(domainA, request, asChatAgentAtA), {
      error: 'invalid_grant',
      description:
        'subject_token is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key',
    });
    const thief = await newKey();
    await expectTokenRefused(
      domainA,
      async () => postToken(domainA, request, { ...asChatAgentAtA, headers: { dpop: await proof(domainA, thief) } }),
      { error: 'invalid_grant', description: 'subject_token is DPoP-bound to a different key than the DPoP proof' },
    );
    const res = await postToken(domainA, request, { ...asChatAgentAtA, headers: { dpop: await proof(domainA, key) } });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  it('no cnf, proof at redemption: the access token is bound to the proof key', async () => {
    const key = await newKey();
    const plain = await postToken(domainA, idJagRequest({ scope: 'todos.read', resource: TODOS }), asChatAgentAtA);
    const res = await postToken(
      domainB,
      { grant_type: JWT_BEARER, assertion: plain.body.access_token as string },
      { ...asChatAgentAtB, headers: { dpop: await proof(domainB, key) } },
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(claimsOf(res.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
  });
});

describe('domain A (IdP role) refuses', () => {
  /** The ID-JAG request with `extra`, refused with 400 `error`, as every refusal of domain A here. */
  const refusedAtA = (
    extra: Parameters<typeof idJagRequest>[0],
    error: string,
    description: string,
    init = asChatAgentAtA,
  ) => expectTokenRefused(domainA, () => postToken(domainA, idJagRequest(extra), init), { error, description });

  it('an audience the policy does not allow', () =>
    refusedAtA(
      { audience: 'https://as.elsewhere.example' },
      'invalid_target',
      "audience not allowed for this client's ID-JAGs: 'https://as.elsewhere.example'",
    ));

  it('a resource the policy does not allow', () =>
    refusedAtA(
      { resource: 'https://payroll.b.example/' },
      'invalid_target',
      `resource not allowed for this client at ${domainB.issuer}: 'https://payroll.b.example/'`,
    ));

  it('a scope the policy does not allow', () =>
    refusedAtA(
      { scope: 'todos.read todos.admin' },
      'invalid_scope',
      `scope not allowed for this client at ${domainB.issuer}: todos.admin`,
    ));

  it('a target whose policy grants no scope: an ID-JAG without scope would set no limit at the resource AS', () =>
    refusedAtA(
      { audience: 'https://as.noscope.example' },
      'invalid_scope',
      'no scope is granted to this client at https://as.noscope.example; an ID-JAG without scope would set no limit there',
    ));

  it('an ID token issued to another client (§4.3.3)', async () => {
    const other = await upstream.idToken('alice', 'other-app', domainA.issuer);
    await refusedAtA(
      { subject_token: other },
      'invalid_grant',
      'subject_token audience is not accepted: an ID token must be issued to client chat-agent',
    );
  });

  it.each([['act'], ['may_act']])(
    'an ID token carrying %s: an ID-JAG carries no delegation chain (this is the token exchange)',
    async (claim) =>
      refusedAtA(
        {
          subject_token: await idpC.mint(
            { sub: 'alice', aud: 'chat-agent', [claim]: { sub: 'agent-1' } },
            { typ: 'JWT' },
          ),
        },
        'invalid_grant',
        'subject_token carries act or may_act (a delegation chain), which an ID-JAG cannot carry',
      ),
  );

  it("a SAML assertion, which a client without a SAML SP was not issued (it names actbridge's SP; §4.3.3, §4.5)", async () => {
    const assertion = base64url(saml.signedAssertion({ nameId: 'alice@example.com' }));
    await refusedAtA(
      { subject_token: assertion, subject_token_type: TT.saml2 },
      'invalid_grant',
      'subject_token audience is not accepted: client chat-agent has no SAML service provider registered, so no SAML assertion is issued to it',
    );
    // The same assertion stays good for what it was issued for: a token exchange at actbridge.
    const exchanged = await postToken(
      domainA,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: assertion,
        subject_token_type: TT.saml2,
        audience: 'https://api.a.example/',
      },
      { basic: ['plain-client', 'plain-client-secret-0123'] },
    );
    expect({ status: exchanged.status, sub: claimsOf(exchanged.body.access_token as string).sub }).toEqual({
      status: 200,
      sub: 'alice@example.com',
    });
  });

  it('an ID token whose subject has been revoked: invalid_grant, as every subject failure (§4.3.3)', async () => {
    const carol = await upstream.idToken('carol', 'chat-agent', domainA.issuer);
    expect((await postToken(domainA, idJagRequest({ subject_token: carol }), asChatAgentAtA)).status).toBe(200);
    const revoked = await postToken(
      { tokenEndpoint: `${domainA.baseUrl}/admin/revoke` },
      { root_issuer: upstream.issuer, sub: 'carol' },
      { basic: ['operator', 'operator-secret-0123456789'] },
    );
    expect(revoked).toMatchObject({ status: 200, body: { descendants_revoked: 1 } });
    await refusedAtA({ subject_token: carol }, 'invalid_grant', 'subject_token has been revoked');
  });

  it('no audience', () =>
    refusedAtA(
      { audience: undefined },
      'invalid_request',
      "audience is required for an ID-JAG: the resource authorization server's issuer",
    ));

  it('two audiences', () =>
    refusedAtA(
      { audience: [domainB.issuer, 'https://as.elsewhere.example'] },
      'invalid_target',
      'an ID-JAG names exactly one audience',
    ));

  it('a subject token that is not an identity assertion', () =>
    refusedAtA(
      { subject_token_type: TT.accessToken },
      'invalid_request',
      `an ID-JAG needs an identity assertion as subject_token; subject_token_type must be one of: ${TT.idToken}, ${TT.saml2}`,
    ));

  it('an actor token (its processing is undefined by the draft)', () =>
    refusedAtA(
      { actor_token: idToken, actor_token_type: TT.idToken },
      'invalid_request',
      'actor_token is not supported when requesting an ID-JAG',
    ));

  it('authorization_details (RFC 9396), which it could not put in the ID-JAG', () =>
    refusedAtA(
      {
        scope: 'todos.read',
        authorization_details: JSON.stringify([{ type: 'todo_list', locations: [TODOS], lists: ['123'] }]),
      },
      'invalid_request',
      'authorization_details is not supported when requesting an ID-JAG; ask with scope and resource',
    ));

  it('a client without an id_jag policy', () =>
    refusedAtA({}, 'unauthorized_client', 'this client may not request ID-JAGs', {
      basic: ['plain-client', 'plain-client-secret-0123'],
    }));

  it('an expired ID token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await idpC.mint(
      { sub: 'alice', aud: 'chat-agent', iat: now - 600, exp: now - 300 },
      { typ: 'JWT' },
    );
    await refusedAtA({ subject_token: expired }, 'invalid_grant', 'subject_token has expired');
  });

  it('at startup, a policy naming its own issuer as target (§9.3: an ID-JAG must cross a domain)', async () => {
    const port = await freePort();
    await expect(
      startTestApp({
        port,
        clients: [
          basicClient('loop', 'loop-secret-0123456789', {
            audiences: [],
            id_jag: { targets: [{ audience: `http://127.0.0.1:${port}`, client_id: 'loop' }] },
          }),
        ],
      }),
    ).rejects.toThrow(
      "clients[0].id_jag.targets[0].audience: is actbridge's own issuer; an ID-JAG must cross a domain",
    );
  });
});

describe("domain A applies the subject's trust-anchor rules (CEL) to ID-JAGs", () => {
  let ruled: TestApp;
  const OTHER_AS = 'https://as.other.example';
  const asAgent = { basic: ['chat-agent', A_SECRET] as [string, string] };
  const idTokenWith = (claims: Record<string, unknown>) =>
    idpC.mint({ sub: 'alice', aud: 'chat-agent', ...claims }, { typ: 'JWT' });
  const request = (subject_token: string, extra: Record<string, string | undefined> = {}) =>
    postToken(
      ruled,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        requested_token_type: ID_JAG,
        subject_token,
        subject_token_type: TT.idToken,
        audience: domainB.issuer,
        ...extra,
      },
      asAgent,
    );

  beforeAll(async () => {
    ruled = await startTestApp({
      anchors: {
        'idp-c': {
          issuer: idpC.issuer,
          jwks: idpC.publicJwks,
          audiences: ['urn:unused'],
          rules: [
            {
              name: 'engineers',
              condition: 'claims.?groups.orValue([]).exists(g, g == "eng")',
              grants: {
                audiences: [domainB.issuer],
                scopes: ['todos.read'],
                max_ttl: 120,
                subject: '"idp-c:" + claims.sub',
              },
            },
          ],
        },
      },
      clients: [
        basicClient('chat-agent', A_SECRET, {
          audiences: [],
          id_jag: {
            targets: [
              { audience: domainB.issuer, client_id: 'chat-agent-at-b', scopes: ['todos.read', 'todos.write'] },
              { audience: OTHER_AS, client_id: 'chat-agent-at-other', scopes: ['todos.read'] },
            ],
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await ruled?.close();
  });

  it("a matching subject gets the rule's sub, scopes within the rule, and at most its max_ttl", async () => {
    const res = await request(await idTokenWith({ groups: ['eng'] }));
    expect(res.status).toBe(200);
    const claims = claimsOf(res.body.access_token as string);
    expect(claims).toMatchObject({
      sub: 'idp-c:alice',
      sub_id: { format: 'iss_sub', iss: ruled.issuer, sub: 'idp-c:alice' },
      aud: domainB.issuer,
      scope: 'todos.read',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(120);
    expect(ruled.audit.lines.at(-1)).toMatchObject({ event: 'token.issued', rule: 'idp-c/engineers' });
  });

  it('a subject matching no rule gets no ID-JAG', async () =>
    expectTokenRefused(ruled, async () => request(await idTokenWith({ groups: ['sales'] })), {
      error: 'invalid_grant',
      description: "subject_token is not granted anything by its trust anchor's policy (no rule matches)",
    }));

  it('a resource AS the client may use but the rule does not grant', async () =>
    expectTokenRefused(ruled, async () => request(await idTokenWith({ groups: ['eng'] }), { audience: OTHER_AS }), {
      error: 'invalid_target',
      description: "target not granted to this subject by its trust anchor's policy",
    }));

  it('a scope the client may get there but the rule does not grant', async () =>
    expectTokenRefused(ruled, async () => request(await idTokenWith({ groups: ['eng'] }), { scope: 'todos.write' }), {
      error: 'invalid_scope',
      description: "scope exceeds what this subject's trust anchor policy grants",
    }));
});

describe('domain B (resource AS role) refuses an ID-JAG', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const refusedAtB = (send: () => Promise<Response>, description: string, error = 'invalid_grant') =>
    expectTokenRefused(domainB, send, { error, description });

  it('accepts a well-formed one from IdP C (control)', async () => {
    const res = await redeem(await craftIdJag());
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({ sub: 'alice', aud: TODOS, scope: 'todos.read' });
  });

  it('accepts aud as a one-element array', async () => {
    expect((await redeem(await craftIdJag({ aud: [domainB.issuer] }))).status).toBe(200);
  });

  it('with the wrong aud, naming the one accepted', async () =>
    refusedAtB(
      async () => redeem(await craftIdJag({ aud: 'https://as.elsewhere.example' })),
      `assertion audience is not accepted: it must be exactly ${domainB.issuer}`,
    ));

  // Claims are made when the case runs, so their times are relative to the request.
  it.each<[name: string, claims: () => Record<string, unknown>, description: string, header?: Record<string, unknown>]>(
    [
      [
        'with typ JWT',
        () => ({}),
        "assertion typ 'JWT' is not accepted: this issuer is trusted for ID-JAGs only (typ oauth-id-jag+jwt)",
        { typ: 'JWT' },
      ],
      [
        'with typ at+jwt',
        () => ({}),
        "assertion typ 'at+jwt' is not accepted: this issuer is trusted for ID-JAGs only (typ oauth-id-jag+jwt)",
        { typ: 'at+jwt' },
      ],
      [
        'whose client_id is another client',
        () => ({ client_id: 'someone-else' }),
        'assertion client_id does not match the authenticated client',
      ],
      ['without client_id', () => ({ client_id: undefined }), 'assertion has no client_id claim'],
      ['that has expired', () => ({ iat: now() - 400, exp: now() - 100 }), 'assertion has expired'],
      [
        'that expires too far in the future',
        () => ({ exp: now() + 3600 }),
        'assertion expires too far in the future: more than 300 s ahead (exp)',
      ],
      [
        'that is too old',
        () => ({ iat: now() - 3600, exp: now() + 60 }),
        'assertion is too old: issued more than 300 s ago (iat)',
      ],
      [
        'whose exp is 1e300 (MAX_PRESENTED_TOKEN_LIFETIME)',
        () => ({ exp: 1e300 }),
        'assertion expires too far in the future: more than 86400 s ahead (exp)',
      ],
      [
        'whose exp is fractional',
        () => ({ exp: now() + 60.5 }),
        'assertion has a malformed exp claim: a whole number of seconds is required',
      ],
      [
        'whose iat is fractional',
        () => ({ iat: now() - 0.5 }),
        'assertion has a malformed iat claim: a whole number of seconds is required',
      ],
      [
        'with act (no token exchange takes an ID-JAG instead)',
        () => ({ act: { sub: 'agent-1' } }),
        'assertion carries act or may_act (a delegation chain), which an ID-JAG cannot carry',
      ],
      [
        'with may_act',
        () => ({ may_act: { sub: 'agent-1' } }),
        'assertion carries act or may_act (a delegation chain), which an ID-JAG cannot carry',
      ],
      [
        'naming a resource this client is not issued tokens for, none requested (the grant fails, not a request)',
        () => ({ resource: [TODOS, DEPLOY] }),
        `assertion names a resource this client is not issued tokens for: '${DEPLOY}'`,
      ],
      ['without jti', () => ({ jti: undefined }), 'assertion has no valid jti claim'],
      ['without iat', () => ({ iat: undefined }), 'assertion has no iat claim'],
      [
        'with authorization_details (a ceiling actbridge cannot keep)',
        () => ({
          authorization_details: [{ type: 'todo_list', locations: [TODOS], actions: ['read'], lists: ['123'] }],
        }),
        'assertion carries authorization_details (RFC 9396), which actbridge cannot honour as a ceiling',
      ],
    ],
  )('%s', async (_name, claims, description, header = {}) => {
    await refusedAtB(async () => redeem(await craftIdJag(claims(), header)), description);
  });

  it('with aud an array of two', () =>
    refusedAtB(
      async () => redeem(await craftIdJag({ aud: [domainB.issuer, 'https://as.elsewhere.example'] })),
      `assertion aud must be exactly ${domainB.issuer}: a string or a one-element array`,
    ));

  it('presented by another client than its client_id names', () =>
    refusedAtB(
      async () => redeem(await craftIdJag(), {}, asOtherAppAtB),
      'assertion client_id does not match the authenticated client',
    ));

  it('whose exp is written 1e400 (Infinity once parsed)', () =>
    refusedAtB(
      async () =>
        redeem(
          await idpC.signRaw(
            { alg: 'ES256', kid: idpC.kid, typ: ID_JAG_TYP },
            `{"iss":"${idpC.issuer}","sub":"alice","aud":"${domainB.issuer}","client_id":"chat-agent-at-b","jti":"j-inf","iat":${now()},"exp":1e400}`,
          ),
        ),
      'assertion has a malformed exp claim: a whole number of seconds is required',
    ));

  it('from an unknown issuer', async () => {
    const unknown = await createTestIssuer('https://idp-unknown.example');
    await refusedAtB(
      async () =>
        redeem(
          await unknown.mint({ sub: 'alice', aud: domainB.issuer, client_id: 'chat-agent-at-b' }, { typ: ID_JAG_TYP }),
        ),
      'assertion issuer is not trusted',
    );
  });

  it("signed with a key that is not the issuer's", () =>
    refusedAtB(
      async () =>
        redeem(
          await stranger.mint({ sub: 'alice', aud: domainB.issuer, client_id: 'chat-agent-at-b' }, { typ: ID_JAG_TYP }),
        ),
      `assertion was signed with a key its issuer does not publish (kid '${stranger.kid}')`,
    ));

  it('from a trusted issuer that has not opted in to ID-JAGs', () =>
    refusedAtB(
      async () =>
        redeem(
          await plain.mint({ sub: 'alice', aud: domainB.issuer, client_id: 'chat-agent-at-b' }, { typ: ID_JAG_TYP }),
        ),
      'assertion issuer is not trusted for ID-JAGs',
    ));

  it('replayed, when the issuer is single-use', async () => {
    const idJag = await craftIdJag();
    expect((await redeem(idJag)).status).toBe(200);
    await refusedAtB(() => redeem(idJag), 'assertion has already been used (jti replay)');
  });

  it('naming a resource this client is not issued tokens for: the client may still ask for the others', async () => {
    const res = await redeem(await craftIdJag({ resource: [TODOS, DEPLOY] }), { resource: TODOS });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).aud).toBe(TODOS);
  });

  it('asking for more than its scope or resource ceiling', async () => {
    await refusedAtB(
      async () => redeem(await craftIdJag(), { scope: 'todos.write' }),
      'scope exceeds what the assertion grants: todos.write',
      'invalid_scope',
    );
    await refusedAtB(
      async () => redeem(await craftIdJag(), { resource: CALENDAR }),
      `resource exceeds what the assertion grants: '${CALENDAR}'`,
      'invalid_target',
    );
  });
});

describe('domain B: plain RFC 7523 assertions', () => {
  const refusedAtB = (send: () => Promise<Response>, description: string, error = 'invalid_grant', status = 400) =>
    expectTokenRefused(domainB, send, { status, error, description });
  const redeemCi = (assertion: string, extra: Record<string, string | undefined> = {}) =>
    redeem(assertion, extra, asCiDeployer);

  it('issues an access token for a trusted issuer, subject pattern and scope', async () => {
    const res = await redeemCi(await ciAssertion(), { scope: 'deploy' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'deploy' });
    expect(res.body.refresh_token).toBeUndefined();
    expect(claimsOf(res.body.access_token as string)).toMatchObject({
      sub: 'repo:acme/api:ref:refs/heads/main',
      aud: DEPLOY,
      client_id: 'ci-deployer',
      sub_id: { format: 'iss_sub', iss: ci.issuer, sub: 'repo:acme/api:ref:refs/heads/main' },
    });
    expect(domainB.audit.lines.at(-1)).toMatchObject({ event: 'token.issued', assertion_type: TT.jwt });
  });

  it('accepts the token endpoint as aud, and an untyped JWT; without scope, the allowed intersection', async () => {
    const res = await redeemCi(await ciAssertion({ aud: domainB.tokenEndpoint }, { typ: undefined }));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('deploy read');
  });

  it('refuses a subject outside the patterns', () =>
    refusedAtB(
      async () => redeemCi(await ciAssertion({ sub: 'repo:acme-evil/api' })),
      'assertion sub is not allowed for this issuer',
    ));

  it("refuses a scope beyond the anchor's", () =>
    refusedAtB(
      async () => redeemCi(await ciAssertion(), { scope: 'admin' }),
      'scope exceeds what the assertion grants: admin',
      'invalid_scope',
    ));

  it('refuses an aud that does not name this server', () =>
    refusedAtB(
      async () => redeemCi(await ciAssertion({ aud: 'https://as.elsewhere.example' })),
      `assertion audience is not accepted: it must name ${domainB.issuer} or ${domainB.issuer}/oauth/token`,
    ));

  it('refuses a delegated assertion, which token exchange takes with its chain', () =>
    refusedAtB(
      async () => redeemCi(await ciAssertion({ act: { sub: 'agent-1' } })),
      'assertion carries act or may_act; present it through token exchange instead',
    ));

  it('refuses an assertion without exp', () =>
    refusedAtB(async () => redeemCi(await ciAssertion({ exp: undefined })), 'assertion has no exp claim'));

  it('refuses an exp of 1e300 or a fractional nbf, whatever its max_age', async () => {
    await refusedAtB(
      async () => redeemCi(await ciAssertion({ exp: 1e300 })),
      'assertion expires too far in the future: more than 86400 s ahead (exp)',
    );
    await refusedAtB(
      async () => redeemCi(await ciAssertion({ nbf: Math.floor(Date.now() / 1000) - 1.5 })),
      'assertion has a malformed nbf claim: a whole number of seconds is required',
    );
  });

  it('refuses an assertion that is too old', () => {
    const now = Math.floor(Date.now() / 1000);
    return refusedAtB(
      async () => redeemCi(await ciAssertion({ iat: now - 1200 })),
      'assertion is too old: issued more than 600 s ago (iat)',
    );
  });

  it('refuses a replayed jti, and an assertion without one (single use by default)', async () => {
    const assertion = await ciAssertion();
    expect((await redeemCi(assertion)).status).toBe(200);
    await refusedAtB(() => redeemCi(assertion), 'assertion has already been used (jti replay)');
    await refusedAtB(
      async () => redeemCi(await ciAssertion({ jti: undefined })),
      'assertion has no valid jti claim (this issuer requires single-use assertions)',
    );
  });

  it('refuses other explicitly typed JWTs from that issuer', async () => {
    await refusedAtB(
      async () => redeemCi(await ciAssertion({}, { typ: 'at+jwt' })),
      "assertion typ 'at+jwt' is not accepted for token type urn:ietf:params:oauth:token-type:jwt",
    );
    // An ID-JAG-typed JWT goes to the ID-JAG profile, for which this issuer has not opted in.
    await refusedAtB(
      async () => redeemCi(await ciAssertion({}, { typ: ID_JAG_TYP })),
      'assertion issuer is not trusted for ID-JAGs',
    );
  });

  it('refuses an issuer that has not opted in', () =>
    refusedAtB(
      async () => redeemCi(await plain.mint({ sub: 'repo:acme/api', aud: domainB.issuer }, { typ: 'JWT' })),
      'assertion issuer is not trusted for jwt-bearer assertions',
    ));

  it('refuses a request without assertion, and a client not registered for the grant', async () => {
    await refusedAtB(
      () => postToken(domainB, { grant_type: JWT_BEARER }, asCiDeployer),
      'assertion is required',
      'invalid_request',
    );
    await refusedAtB(
      async () =>
        postToken(
          domainB,
          { grant_type: JWT_BEARER, assertion: await ciAssertion() },
          {
            basic: ['exchange-only', 'exchange-only-secret-0123'],
          },
        ),
      'this client may not use this grant_type',
      'unauthorized_client',
    );
  });
});

describe('domain B spends a single-use assertion only when it redeems it (RFC 7523 §3 item 7)', () => {
  const refusedAtB = (send: () => Promise<Response>, description: string, error = 'invalid_grant') =>
    expectTokenRefused(domainB, send, { error, description });
  const withProof = async (assertion: string, key: DpopKey, init = asCiDeployer) =>
    postToken(
      domainB,
      { grant_type: JWT_BEARER, assertion },
      { ...init, headers: { dpop: await dpopProof(domainB.tokenEndpoint, key) } },
    );

  it('an assertion refused to another client is still redeemed by the one it suits', async () => {
    const assertion = await ciAssertion();
    await refusedAtB(
      () => redeem(assertion, {}, asChatAgentAtB),
      'no audience or resource requested, and this client has no default audience',
      'invalid_target',
    );
    expect((await redeem(assertion, {}, asCiDeployer)).status).toBe(200);
    await refusedAtB(() => redeem(assertion, {}, asCiDeployer), 'assertion has already been used (jti replay)');
  });

  it('a DPoP-bound assertion or ID-JAG presented without its key stays usable with it', async () => {
    const key = await newDpopKey();
    const unproven =
      'assertion is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key';
    const assertion = await ciAssertion({ cnf: { jkt: key.jkt } });
    await refusedAtB(() => redeem(assertion, {}, asCiDeployer), unproven);
    expect((await withProof(assertion, key)).status).toBe(200);
    await refusedAtB(() => withProof(assertion, key), 'assertion has already been used (jti replay)');

    const idJag = await craftIdJag({ cnf: { jkt: key.jkt } }); // IdP C's ID-JAGs are single use
    await refusedAtB(() => redeem(idJag), unproven);
    expect((await withProof(idJag, key, asChatAgentAtB)).status).toBe(200);
    await refusedAtB(() => withProof(idJag, key, asChatAgentAtB), 'assertion has already been used (jti replay)');
  });
});

describe("domain B applies the assertion issuer's trust-anchor rules (CEL) to jwt-bearer grants", () => {
  let ruledB: TestApp;
  const redeemAt = (assertion: string, extra: Record<string, string | undefined> = {}) =>
    postToken(ruledB, { grant_type: JWT_BEARER, assertion, ...extra }, asCiDeployer);
  const assertion = (sub: string) => ci.mint({ sub, aud: ruledB.issuer }, { typ: 'JWT' });

  beforeAll(async () => {
    ruledB = await startTestApp({
      anchors: {
        ci: {
          issuer: ci.issuer,
          jwks: ci.publicJwks,
          audiences: ['urn:unused'],
          jwt_bearer: { subjects: ['repo:acme/**'], scopes: ['deploy', 'read'], max_age: 600 },
          rules: [
            {
              name: 'main-only',
              condition: 'glob(claims.sub, "repo:acme/*:ref:refs/heads/main")',
              grants: { audiences: [DEPLOY], scopes: ['deploy'], max_ttl: 60, subject: '"ci:" + claims.sub' },
            },
          ],
        },
      },
      clients: [
        basicClient('ci-deployer', CI_SECRET, {
          grant_types: [JWT_BEARER],
          audiences: [DEPLOY, TODOS],
          default_audience: DEPLOY,
          scopes: ['deploy', 'read', 'admin'],
        }),
      ],
    });
  });

  afterAll(async () => {
    await ruledB?.close();
  });

  it("a matching assertion gets the rule's sub, its scopes only, and at most its max_ttl", async () => {
    const res = await redeemAt(await assertion('repo:acme/api:ref:refs/heads/main'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ scope: 'deploy' });
    expect(res.body.expires_in).toBeLessThanOrEqual(60);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({
      sub: 'ci:repo:acme/api:ref:refs/heads/main',
      sub_id: { format: 'iss_sub', iss: ruledB.issuer },
      aud: DEPLOY,
    });
    expect(ruledB.audit.lines.at(-1)).toMatchObject({ event: 'token.issued', rule: 'ci/main-only' });
  });

  it('an assertion the jwt_bearer section allows but no rule matches', () =>
    expectTokenRefused(ruledB, async () => redeemAt(await assertion('repo:acme/api:ref:refs/heads/dev')), {
      error: 'invalid_grant',
      description: "assertion is not granted anything by its trust anchor's policy (no rule matches)",
    }));

  it('a scope the section allows but the rule does not', () =>
    expectTokenRefused(
      ruledB,
      async () => redeemAt(await assertion('repo:acme/api:ref:refs/heads/main'), { scope: 'read' }),
      { error: 'invalid_scope', description: "scope exceeds what this subject's trust anchor policy grants" },
    ));

  it('a target the client may use but the rule does not grant', () =>
    expectTokenRefused(
      ruledB,
      async () => redeemAt(await assertion('repo:acme/api:ref:refs/heads/main'), { resource: TODOS }),
      { error: 'invalid_target', description: "target not granted to this subject by its trust anchor's policy" },
    ));
});

describe('health endpoints', () => {
  it('live and ready (in-memory replay store)', async () => {
    const live = await fetch(`${domainB.baseUrl}/health/live`);
    expect({ status: live.status, body: await live.json() }).toEqual({ status: 200, body: { status: 'live' } });
    await expectReady(domainB.baseUrl, 4);
  });
});

describe('configuration', () => {
  it('refuses an empty id_jag section (a bare `id_jag:` would otherwise silently disable it)', async () => {
    await expect(
      startTestApp({
        anchors: { a: { issuer: 'https://a.example', jwks: idpC.publicJwks, audiences: ['x'], id_jag: null } },
        clients: [],
      }),
    ).rejects.toThrow('id_jag: must be a mapping (write {} to accept the defaults)');
  });

  it('refuses a jwt_bearer section without subjects, or with an unknown jti policy', async () => {
    await expect(
      startTestApp({
        anchors: {
          a: {
            issuer: 'https://a.example',
            jwks: idpC.publicJwks,
            audiences: ['x'],
            jwt_bearer: { subjects: [], jti: 'once' },
          },
        },
        clients: [],
      }),
    ).rejects.toThrow(
      /a\.yaml: invalid configuration:\n {2}\S+a\.yaml: jwt_bearer\.subjects: should not be empty\n {2}\S+a\.yaml: jwt_bearer\.jti: must be one of the following values: reusable, single_use/,
    );
  });
});

describe('the README walk-through configuration (examples/xaa)', () => {
  const root = resolve(import.meta.dirname, '../..');
  it.each([
    ['domain-a', '8081'],
    ['domain-b', '8082'],
  ])('%s loads and validates', (domain, port) => {
    const dir = resolve(root, 'examples/xaa', domain);
    const config = loadStsConfig(
      {
        PORT: port,
        TRUST_ANCHORS_DIR: resolve(dir, 'trust-anchors'),
        CLIENTS_FILE: resolve(dir, 'clients.yaml'),
      },
      'development',
    );
    expect(config.server.issuer).toBe(`http://localhost:${port}`);
    if (domain === 'domain-a') {
      expect(config.clients[0]!.id_jag!.targets[0]).toMatchObject({
        audience: 'http://localhost:8082',
        client_id: 'chat-agent-at-b',
      });
    } else {
      expect(config.anchors[0]!.config).toMatchObject({
        issuer: 'http://localhost:8081',
        id_jag: { jti: 'single_use' },
      });
      expect(config.clients[0]!.client_id).toBe('chat-agent-at-b');
    }
  });
});
