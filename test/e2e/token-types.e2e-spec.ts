import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { freePort } from '../support/free-port.js';
import { claimsOf, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

/**
 * Token kinds from a real upstream IdP (oidc-provider), through actbridge's token endpoint over HTTP:
 *  - opaque access tokens, validated by RFC 7662 introspection at the IdP (credentials from the anchor,
 *    routed by the presenting client's binding, cached by token hash);
 *  - ID tokens, whose `aud` must be the presenting client's id at that IdP (the anchor's `client_ids`);
 *  - tokens presented as a type they are not, or a type their issuer does not issue (`token_types`).
 */

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const API = 'https://api.example/';
const OPAQUE = 'https://sts.example/opaque';
const SHORT = 'https://sts.example/short-lived';
const UPSTREAM_TIMEOUT_MS = 500;
const SECRET = 'downstream-secret-0123456789';

let idp: UpstreamIdp;
let idp2: UpstreamIdp; // issues access tokens only (token_types), JWT typ allowed for access tokens
let sts: TestApp;
let stsIssuer: string;
const seenTokens: string[] = [];

const basic = (clientId: string) => ({ basic: [clientId, SECRET] as [string, string] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exchange(subjectToken: string, type: string = TT.accessToken, extra: Record<string, string> = {}) {
  seenTokens.push(subjectToken);
  return { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: type, audience: API, ...extra };
}

async function refused(
  form: Record<string, string>,
  clientId: string,
  status: number,
  error: string,
  description: string | RegExp,
) {
  return expectTokenRefused(sts, () => postToken(sts, form, basic(clientId)), { status, error, description });
}

/** The refusal most checks here expect: 400 invalid_request. */
const invalidRequest = (form: Record<string, string>, clientId: string, description: string | RegExp) =>
  refused(form, clientId, 400, 'invalid_request', description);

/** A user's opaque access token for `resource`, obtained by `clientId` at the IdP (CIBA). */
async function opaqueToken(account = 'alice', resource = OPAQUE, clientId = 'user-app') {
  const { accessToken } = await idp.userTokens(account, { clientId, resource, scope: 'openid read write' });
  expect(accessToken.split('.')).toHaveLength(1); // really opaque
  return accessToken;
}

beforeAll(async () => {
  const port = await freePort();
  stsIssuer = `http://127.0.0.1:${port}`;
  const upstreamClients = ['user-app', 'web-app', 'actbridge', 'svc'].map((id) => ({
    client_id: id,
    client_secret: `${id}-upstream-secret-0123456789`,
  }));
  idp = await startUpstreamIdp({
    clients: upstreamClients,
    resources: {
      [stsIssuer]: { scope: 'read write' },
      [OPAQUE]: { scope: 'read write', format: 'opaque' },
      [SHORT]: { scope: 'read write', format: 'opaque', ttl: 2 },
    },
    // Only actbridge's own credentials at the IdP may introspect.
    introspectionClients: ['actbridge'],
    extraUserIdTokenClaims: { mallory: { azp: 'someone-else' } },
  });
  idp2 = await startUpstreamIdp({
    clients: [{ client_id: 'user-app', client_secret: 'user-app-upstream-secret-0123456789' }],
    resources: { [stsIssuer]: { scope: 'read' } },
  });
  const downstream = (clientId: string) => ({
    client_id: clientId,
    token_endpoint_auth_method: 'client_secret_basic',
    client_secret: SECRET,
    audiences: [API],
    scopes: ['read', 'write'],
  });
  sts = await startTestApp({
    port,
    anchors: {
      upstream: {
        issuer: idp.issuer,
        audiences: [stsIssuer, OPAQUE, SHORT],
        // Our client "portal" is registered at the IdP as "web-app".
        client_ids: { portal: 'web-app' },
        introspection: {
          client_id: 'actbridge',
          client_secret_env: 'UPSTREAM_INTROSPECTION_SECRET',
          clients: ['svc', 'portal'],
          cache_ttl: 30,
        },
      },
      upstream2: {
        issuer: idp2.issuer,
        audiences: [stsIssuer],
        token_types: ['access_token'],
        access_token_typ: ['at+jwt', 'JWT'],
      },
    },
    clients: ['svc', 'portal', 'user-app', 'unbound'].map(downstream),
    env: {
      UPSTREAM_INTROSPECTION_SECRET: 'actbridge-upstream-secret-0123456789',
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    },
  });
});

afterAll(async () => {
  // Neither presented tokens nor the introspection secret ever reach an audit line.
  const audit = JSON.stringify(sts?.audit.lines ?? []);
  for (const token of seenTokens) expect(audit).not.toContain(token);
  expect(audit).not.toContain('actbridge-upstream-secret');
  await sts?.close();
  await idp?.close();
  await idp2?.close();
});

describe('opaque access tokens (RFC 7662 introspection)', () => {
  it('exchanges an opaque token introspected at its IdP, narrowing scope and capping lifetime', async () => {
    idp.resetStats();
    const token = await opaqueToken();
    const res = await postToken(sts, exchange(token, TT.accessToken, { scope: 'read' }), basic('svc'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issued_token_type: TT.accessToken, token_type: 'Bearer', scope: 'read' });
    const claims = claimsOf(res.body.access_token as string);
    expect(claims).toMatchObject({
      iss: stsIssuer,
      sub: 'alice',
      sub_id: { format: 'iss_sub', iss: idp.issuer, sub: 'alice' },
      aud: API,
      client_id: 'svc',
      scope: 'read',
      act: { sub: 'svc', iss: stsIssuer },
    });
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      subject: { sub: 'alice', iss: idp.issuer },
      subject_token_type: TT.accessToken,
    });
    expect(idp.stats.introspectionRequests).toBe(1);
  });

  it('grants no scope from an opaque token whose introspection names none', async () => {
    const { accessToken } = await idp.userTokens('alice', { clientId: 'user-app', resource: OPAQUE, scope: 'openid' });
    expect(accessToken.split('.')).toHaveLength(1);
    await refused(
      exchange(accessToken, TT.accessToken, { scope: 'read' }),
      'svc',
      400,
      'invalid_scope',
      "scope exceeds the subject_token's scope: read",
    );
    const res = await postToken(sts, exchange(accessToken, TT.accessToken), basic('svc'));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBeUndefined();
    expect(claimsOf(res.body.access_token as string).scope).toBeUndefined();
  });

  it('reuses a cached answer (keyed by token hash) instead of introspecting again', async () => {
    const token = await opaqueToken();
    idp.resetStats();
    expect((await postToken(sts, exchange(token), basic('svc'))).status).toBe(200);
    expect((await postToken(sts, exchange(token), basic('svc'))).status).toBe(200);
    // Another client bound to the same anchor: same cached answer, its own audience check.
    expect((await postToken(sts, exchange(token), basic('portal'))).status).toBe(200);
    expect(idp.stats.introspectionRequests).toBe(1);
  });

  it('refuses an unknown opaque token', async () => {
    await invalidRequest(
      exchange('bm90LWEtcmVhbC10b2tlbi0wMTIzNDU2Nzg5'),
      'svc',
      'subject_token is not active (introspection)',
    );
  });

  it('refuses a revoked token', async () => {
    const token = await opaqueToken();
    await idp.revokeToken('user-app', token);
    await invalidRequest(exchange(token), 'svc', 'subject_token is not active (introspection)');
  });

  it('refuses an expired token, never serving a cached answer beyond its exp', async () => {
    const token = await opaqueToken('alice', SHORT);
    expect((await postToken(sts, exchange(token), basic('svc'))).status).toBe(200);
    await sleep(2500); // past the token's 2 s lifetime, well within cache_ttl (30 s)
    idp.resetStats();
    await invalidRequest(exchange(token), 'svc', 'subject_token is not active (introspection)');
    expect(idp.stats.introspectionRequests).toBe(1);
  });

  it('refuses a refresh token presented as an access token (introspection gives no token_type)', async () => {
    const { refreshToken } = await idp.userTokens('alice', {
      clientId: 'user-app',
      resource: OPAQUE,
      scope: 'openid offline_access read',
    });
    expect(refreshToken).toEqual(expect.any(String));
    await invalidRequest(
      exchange(refreshToken!),
      'svc',
      'subject_token introspection does not say it is an access token (no token_type)',
    );
  });

  it('never introspects for a client that is not bound to an introspecting anchor', async () => {
    const token = await opaqueToken();
    idp.resetStats();
    await invalidRequest(exchange(token), 'unbound', 'subject_token is not a signed JWT');
    expect(idp.stats.introspectionRequests).toBe(0);
  });

  it('never introspects a token presented as another type', async () => {
    const token = await opaqueToken();
    idp.resetStats();
    await invalidRequest(exchange(token, TT.jwt), 'svc', 'subject_token is not a signed JWT');
    await invalidRequest(exchange(token, TT.idToken), 'svc', 'subject_token is not a signed JWT');
    expect(idp.stats.introspectionRequests).toBe(0);
  });

  it('refuses a malformed opaque token without sending it anywhere', async () => {
    idp.resetStats();
    await invalidRequest(
      exchange('not an opaque token!'),
      'svc',
      'subject_token is neither a JWT nor a well-formed opaque token',
    );
    expect(idp.stats.introspectionRequests).toBe(0);
  });

  it('answers 503 temporarily_unavailable while the introspection endpoint is down', async () => {
    const token = await opaqueToken();
    idp.setIntrospectionMode('down');
    try {
      const res = await refused(
        exchange(token),
        'svc',
        503,
        'temporarily_unavailable',
        `subject_token cannot be validated now: the introspection endpoint of issuer ${idp.issuer} is unavailable`,
      );
      expect(sts.audit.lines.at(-1)).toMatchObject({ reason: 'HTTP 503 from the introspection endpoint' });
      expect(res.body.error_description).not.toContain('HTTP');
    } finally {
      idp.setIntrospectionMode('ok');
    }
    // Failures are not cached: the same token works once the endpoint is back.
    expect((await postToken(sts, exchange(token), basic('svc'))).status).toBe(200);
  });

  it('bounds a hanging introspection endpoint by UPSTREAM_TIMEOUT_MS, then answers 503', async () => {
    const token = await opaqueToken();
    idp.setIntrospectionMode('hang');
    try {
      await refused(
        exchange(token),
        'svc',
        503,
        'temporarily_unavailable',
        /^subject_token cannot be validated now: the introspection endpoint/,
      );
      expect(sts.audit.lines.at(-1)).toMatchObject({ reason: `timed out after ${UPSTREAM_TIMEOUT_MS} ms` });
    } finally {
      idp.setIntrospectionMode('ok');
    }
  });
});

describe('ID tokens: aud is the client id at that issuer (client_ids)', () => {
  const idTokenOf = async (clientId: string, account = 'alice') =>
    (await idp.userTokens(account, { clientId, resource: stsIssuer, scope: 'openid read' })).idToken;

  it('accepts an ID token issued to the client under its mapped id', async () => {
    const idToken = await idTokenOf('web-app');
    const res = await postToken(sts, exchange(idToken, TT.idToken), basic('portal'));
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({ sub: 'alice', client_id: 'portal' });
  });

  it('accepts an ID token issued under the same client_id when there is no mapping', async () => {
    const res = await postToken(sts, exchange(await idTokenOf('user-app'), TT.idToken), basic('user-app'));
    expect(res.status).toBe(200);
  });

  it.each([
    ['issued to another client', 'web-app', 'user-app'],
    ['issued to the bare client_id of a mapped client (the mapping replaces it)', 'user-app', 'portal'],
    ['issued to another client, presented by a client bound for introspection', 'web-app', 'svc'],
  ])('refuses an ID token %s', async (_name, issuedTo, presenter) => {
    await invalidRequest(
      exchange(await idTokenOf(issuedTo), TT.idToken),
      presenter,
      `subject_token audience is not accepted: an ID token must be issued to client ${presenter}`,
    );
  });

  it('refuses an ID token whose azp names another party', async () => {
    const idToken = await idTokenOf('web-app', 'mallory');
    expect(claimsOf(idToken)).toMatchObject({ aud: 'web-app', azp: 'someone-else' });
    await invalidRequest(exchange(idToken, TT.idToken), 'portal', 'subject_token azp does not name client portal');
  });
});

describe('type confusion with real tokens', () => {
  it('refuses an ID token presented as an access token', async () => {
    const { idToken } = await idp.userTokens('alice', { clientId: 'web-app', resource: stsIssuer });
    await invalidRequest(
      exchange(idToken),
      'portal',
      `subject_token typ (none) is not accepted for token type ${TT.accessToken}`,
    );
  });

  it('refuses an ID token presented as jwt, where its azp would go unchecked', async () => {
    const idToken = (await idp.userTokens('mallory', { clientId: 'web-app', resource: stsIssuer })).idToken;
    expect(claimsOf(idToken)).toMatchObject({ aud: 'web-app', azp: 'someone-else' });
    expect(claimsOf(idToken)).not.toHaveProperty('nonce');
    await invalidRequest(
      exchange(idToken, TT.jwt),
      'portal',
      'subject_token audience is not accepted: a JWT without typ at+jwt must name actbridge itself (a client-addressed one could be an ID token)',
    );
  });

  it('refuses an RFC 9068 access token presented as an ID token', async () => {
    const { accessToken } = await idp.userTokens('alice', { clientId: 'web-app', resource: stsIssuer });
    await invalidRequest(
      exchange(accessToken, TT.idToken),
      'portal',
      `subject_token typ 'at+jwt' is not accepted for token type ${TT.idToken}`,
    );
  });

  it('refuses an ID token from an anchor whose token_types do not include id_token, even with JWT allowed', async () => {
    const { idToken, accessToken } = await idp2.userTokens('alice', { clientId: 'user-app', resource: stsIssuer });
    await invalidRequest(
      exchange(idToken, TT.idToken),
      'user-app',
      `subject_token type id_token is not accepted from issuer ${idp2.issuer} (it issues access_token)`,
    );
    await invalidRequest(
      exchange(idToken, TT.jwt),
      'user-app',
      `subject_token type jwt is not accepted from issuer ${idp2.issuer} (it issues access_token)`,
    );
    expect((await postToken(sts, exchange(accessToken), basic('user-app'))).status).toBe(200);
  });

  it("refuses actbridge's own token presented as an ID token", async () => {
    const first = await postToken(
      sts,
      exchange(await opaqueToken(), TT.accessToken, { audience: 'https://api.example/' }),
      basic('svc'),
    );
    expect(first.status).toBe(200);
    const issued = first.body.access_token as string;
    await invalidRequest(
      exchange(issued, TT.idToken),
      'svc',
      `subject_token type id_token is not accepted from issuer ${stsIssuer} (it issues access_token, jwt)`,
    );
  });
});

describe('openid-client as the downstream client', () => {
  it('exchanges an opaque token through discovery + genericGrantRequest', async () => {
    const config = await client.discovery(new URL(stsIssuer), 'svc', undefined, client.ClientSecretBasic(SECRET), {
      execute: [client.allowInsecureRequests],
    });
    const token = await opaqueToken('bob');
    seenTokens.push(token);
    const response = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: token,
      subject_token_type: TT.accessToken,
      audience: API,
    });
    expect(claimsOf(response.access_token)).toMatchObject({ sub: 'bob', sub_id: { iss: idp.issuer } });
  });
});
