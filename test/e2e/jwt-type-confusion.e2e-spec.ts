import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * RFC 8725 §3.11, no cross-JWT confusion, over HTTP through the token endpoint: every kind of JWT a
 * trust anchor (or a client) signs that is not a subject token, presented as each JWT token type, is
 * refused with the exact reason. The tokens are signed with the anchor's own key (the worst case: an
 * issuer's genuine DPoP-shaped, logout or ID-JAG token), so nothing but type checks stands in the way.
 * Real-IdP flows are in token-types.e2e-spec.ts; this is for exact shapes.
 */

const STS_AUD = 'urn:actbridge:test';
const SECRET = 'agent-secret-0123456789';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let sts: TestApp;
let idp: TestIssuer; // default typ rules; agent is "agent-at-idp" there
let lax: TestIssuer; // access_token_typ [at+jwt, JWT]; agent is "agent-at-lax" there
let idOnly: TestIssuer; // token_types [id_token]

const asAgent = { basic: ['agent', SECRET] as [string, string] };
const exchange = (subjectToken: string, type: string) => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: subjectToken,
  subject_token_type: type,
  audience: 'https://api.example',
});

async function expectRefused(token: string, type: string, description: string | RegExp) {
  await expectTokenRefused(sts, () => postToken(sts, exchange(token, type), asAgent), {
    error: 'invalid_request',
    description,
  });
}

async function expectAccepted(token: string, type: string) {
  const res = await postToken(sts, exchange(token, type), asAgent);
  expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
}

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  lax = await createTestIssuer('https://lax.example');
  idOnly = await createTestIssuer('https://id-only.example');
  sts = await startTestApp({
    anchors: {
      idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD], client_ids: { agent: 'agent-at-idp' } },
      lax: {
        issuer: lax.issuer,
        jwks: lax.publicJwks,
        audiences: [STS_AUD],
        access_token_typ: ['at+jwt', 'JWT'],
        client_ids: { agent: ['agent-at-lax', 'https://agent.example/api'] },
      },
      'id-only': { issuer: idOnly.issuer, jwks: idOnly.publicJwks, audiences: [STS_AUD], token_types: ['id_token'] },
    },
    clients: [basicClient('agent', SECRET, { audiences: ['https://api.example'], scopes: ['read'] })],
  });
});

afterAll(async () => {
  expect(JSON.stringify(sts.audit.lines)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  await sts.close();
});

const TYPES = [
  ['access_token', TT.accessToken],
  ['jwt', TT.jwt],
  ['id_token', TT.idToken],
] as const;

/** Foreign JWT kinds, explicitly typed (RFC 8725 §3.11): refused by typ whatever they are presented as. */
const TYPED_KINDS: Array<[name: string, typ: string, claims: () => Record<string, unknown>, kind: string]> = [
  [
    'a DPoP proof',
    'dpop+jwt',
    () => ({ sub: 'alice', aud: 'agent-at-idp', htm: 'POST', htu: 'https://sts.example/token' }),
    'a DPoP proof (RFC 9449)',
  ],
  [
    'a logout token',
    'logout+jwt',
    () => ({ sub: 'alice', aud: 'agent-at-idp', events: { [LOGOUT_EVENT]: {} }, sid: 's1' }),
    'a logout token (OIDC Back-Channel Logout)',
  ],
  [
    'an ID-JAG',
    'oauth-id-jag+jwt',
    () => ({ sub: 'alice', aud: STS_AUD, client_id: 'agent', scope: 'read' }),
    'an ID-JAG (an assertion for the jwt-bearer grant)',
  ],
  ['a client assertion', 'client-authentication+jwt', () => ({ sub: 'alice', aud: STS_AUD }), 'a client assertion'],
  [
    'an ID-JAG with application/ prefix',
    'application/OAUTH-ID-JAG+JWT',
    () => ({ sub: 'alice', aud: STS_AUD }),
    'an ID-JAG (an assertion for the jwt-bearer grant)',
  ],
];

describe('explicitly typed foreign JWTs', () => {
  const rows = TYPED_KINDS.flatMap(([name, typ, claims, kind]) =>
    TYPES.map(([typeName, type]) => [name, typeName, typ, claims, kind, type] as const),
  );
  it.each(rows)('refuses %s presented as %s', async (_name, _typeName, typ, claims, kind, type) => {
    const token = await idp.mint(claims(), { typ });
    await expectRefused(
      token,
      type,
      `subject_token typ '${typ}' is not accepted for token type ${type}: it is ${kind}`,
    );
  });
});

describe('untyped or JWT-typed foreign JWTs, recognised by their claims', () => {
  // Minted by the lax anchor, which accepts typ JWT for access tokens, so typ alone cannot save us.
  const SHAPES: Array<[name: string, claims: () => Record<string, unknown>, reason: string]> = [
    [
      'a logout token (events)',
      () => ({ sub: 'alice', aud: STS_AUD, events: { [LOGOUT_EVENT]: {} }, sid: 's1' }),
      'subject_token is a logout token (events claim with the back-channel logout event)',
    ],
    [
      'another security event token',
      () => ({ sub: 'alice', aud: STS_AUD, events: { 'urn:example:event': {} } }),
      'subject_token is a security event token (events claim)',
    ],
    [
      'a DPoP proof (htm/htu)',
      () => ({ sub: 'alice', aud: STS_AUD, htm: 'POST', htu: 'https://sts.example/token' }),
      'subject_token is a DPoP proof (htm/htu claims)',
    ],
    [
      'a client assertion (iss = sub)',
      () => ({ sub: lax.issuer, aud: STS_AUD }),
      'subject_token has sub equal to iss (a client assertion or self-issued token)',
    ],
  ];
  const rows = SHAPES.flatMap(([name, claims, reason]) =>
    (['JWT', undefined] as const).flatMap((typ) =>
      TYPES.map(([typeName, type]) => [name, typ ?? '(none)', typeName, claims, reason, typ, type] as const),
    ),
  );
  it.each(rows)('refuses %s, typ %s, presented as %s', async (_n, _t, typeName, claims, reason, typ, type) => {
    const token = await lax.mint(claims(), { typ });
    // An untyped token presented as access_token fails on typ first (only at+jwt and JWT are accepted).
    const expected =
      typeName === 'access_token' && typ === undefined
        ? `subject_token typ (none) is not accepted for token type ${type}`
        : reason;
    await expectRefused(token, type, expected);
  });

  it.each([
    ['nonce', { nonce: 'n-0S6_WzA2Mj' }],
    ['at_hash', { at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }],
    ['c_hash', { c_hash: 'LDktKdoQak3Pk0cnXxCltA' }],
  ])('refuses an ID token (carrying %s) presented as access_token or jwt', async (claim, extra) => {
    const idToken = await lax.mint({ sub: 'alice', aud: STS_AUD, ...extra }, { typ: 'JWT' });
    for (const type of [TT.accessToken, TT.jwt]) {
      await expectRefused(
        idToken,
        type,
        `subject_token is an ID token (it carries ${claim}); present it as ${TT.idToken}`,
      );
    }
  });

  it('refuses a JWT-typed token addressed to the client (as an ID token is) presented as access_token', async () => {
    const idToken = await lax.mint({ sub: 'alice', aud: 'agent-at-lax' }, { typ: 'JWT' });
    await expectRefused(
      idToken,
      TT.accessToken,
      'subject_token audience is not accepted: an access token without typ at+jwt must name actbridge itself (a client-addressed one could be an ID token)',
    );
    // The same token is what it is: a valid ID token for agent.
    await expectAccepted(idToken, TT.idToken);
  });

  it.each([
    ['typ JWT', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
  ])(
    'refuses a token (%s) addressed to the client presented as jwt: an ID token whose azp is not checked there',
    async (_name, header) => {
      // OIDC Core §3.1.3.7: issued to "other" (azp); as jwt it would have passed on its mapped aud alone.
      const idToken = await idp.mint({ sub: 'alice', aud: ['agent-at-idp', 'other'], azp: 'other' }, header);
      await expectRefused(
        idToken,
        TT.jwt,
        'subject_token audience is not accepted: a JWT without typ at+jwt must name actbridge itself (a client-addressed one could be an ID token)',
      );
      await expectRefused(idToken, TT.idToken, 'subject_token azp does not name client agent');
      // Addressed to actbridge, or typed at+jwt, such a token is still a jwt.
      await expectAccepted(await idp.mint({ sub: 'alice', aud: STS_AUD }, header), TT.jwt);
      await expectAccepted(await idp.mint({ sub: 'alice', aud: 'agent-at-idp', scope: 'read' }), TT.jwt);
    },
  );

  it('accepts an at+jwt access token addressed to the client under a mapped id (on behalf of)', async () => {
    await expectAccepted(
      await lax.mint({ sub: 'alice', aud: 'https://agent.example/api', scope: 'read' }),
      TT.accessToken,
    );
    await expectAccepted(await lax.mint({ sub: 'alice', aud: STS_AUD, scope: 'read' }, { typ: 'JWT' }), TT.accessToken);
  });

  it.each([
    ['scope', { scope: 'read' }],
    ['scp', { scp: ['read'] }],
    ['client_id', { client_id: 'agent-at-idp' }],
  ])('refuses an access token (carrying %s, typ JWT) presented as id_token', async (claim, extra) => {
    const token = await idp.mint({ sub: 'alice', aud: 'agent-at-idp', ...extra }, { typ: 'JWT' });
    await expectRefused(
      token,
      TT.idToken,
      `subject_token is not an ID token: it carries ${claim}, an access-token claim`,
    );
  });
});

describe('ID tokens and the client mapping', () => {
  const idToken = (claims: Record<string, unknown>) => idp.mint({ sub: 'alice', ...claims }, { typ: 'JWT' });

  it('accepts aud = the mapped id, alone or with azp naming it', async () => {
    await expectAccepted(await idToken({ aud: 'agent-at-idp' }), TT.idToken);
    await expectAccepted(await idToken({ aud: ['agent-at-idp', 'other'], azp: 'agent-at-idp' }), TT.idToken);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'aud = the bare client_id although a mapping exists',
      { aud: 'agent' },
      'subject_token audience is not accepted: an ID token must be issued to client agent',
    ],
    [
      'aud = actbridge (an ID token is for its relying party)',
      { aud: STS_AUD },
      'subject_token audience is not accepted: an ID token must be issued to client agent',
    ],
    ['azp naming another party', { aud: 'agent-at-idp', azp: 'other' }, 'subject_token azp does not name client agent'],
    [
      'azp naming another party among several audiences',
      { aud: ['agent-at-idp', 'other'], azp: 'other' },
      'subject_token azp does not name client agent',
    ],
    [
      'several audiences, no azp',
      { aud: ['agent-at-idp', 'other'] },
      'subject_token has several audiences and no azp claim',
    ],
    [
      'a non-string azp',
      { aud: 'agent-at-idp', azp: ['agent-at-idp'] },
      'subject_token azp does not name client agent',
    ],
    ['no iat (OIDC Core §2)', { aud: 'agent-at-idp', iat: undefined }, 'subject_token has no iat claim'],
  ])('refuses %s', async (_name, claims, description) => {
    await expectRefused(await idToken(claims), TT.idToken, description);
  });
});

describe('token_types: a token of a type its issuer does not issue', () => {
  it.each([
    ['access_token', TT.accessToken],
    ['jwt', TT.jwt],
  ])('refuses %s from an id_token-only anchor', async (name, type) => {
    const token = await idOnly.mint({ sub: 'alice', aud: STS_AUD, scope: 'read' });
    await expectRefused(
      token,
      type,
      `subject_token type ${name} is not accepted from issuer ${idOnly.issuer} (it issues id_token)`,
    );
  });

  it('accepts the type it issues', async () => {
    await expectAccepted(await idOnly.mint({ sub: 'alice', aud: 'agent' }, { typ: 'JWT' }), TT.idToken);
  });
});
