import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { freePort } from '../support/free-port.js';
import {
  base64,
  base64url,
  BEARER,
  createSamlTestIdp,
  type AssertionOptions,
  type SamlTestIdp,
} from '../support/saml-idp.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient } from '../support/clients.js';

/**
 * SAML 2.0 end to end: samlify acting as the IdP (signing bare Assertions, and Responses through its
 * login-response flow, with a throwaway certificate; xml-crypto for inclusive c14n), actbridge verifying
 * on its own strict parse, over real HTTP. Token exchange with a saml2 subject_token (RFC 8693) and the
 * saml2-bearer grant (RFC 7522).
 */

const SAML2_BEARER = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
const SAML1 = 'urn:ietf:params:oauth:token-type:saml1';
const SP_ENTITY_ID = 'https://actbridge.example/saml';
const API = 'https://api.example/';
const SECRET = 'agent-secret-0123456789';
const asAgent = { basic: ['agent', SECRET] as [string, string] };

let sts: TestApp;
let stsIssuer: string;
let tokenEndpoint: string;
let idp: SamlTestIdp; // anchor from samlify's metadata file; the assertion itself must be signed
let optIn: SamlTestIdp; // anchor with inline certificate, accepts a signed Response around an unsigned assertion
let rogue: SamlTestIdp; // claims idp's entity ID, signs with its own key
let inclusive: SamlTestIdp; // anchor with saml.canonicalization: inclusive
let inclusiveRogue: SamlTestIdp; // claims inclusive's entity ID, signs with its own key
let unskewed: SamlTestIdp; // anchor with clock_skew: 0, for times a few seconds apart
let dir: string;
const ruledIdps: SamlTestIdp[] = [];

const minutes = (n: number) => new Date(Date.now() + n * 60_000);
const seconds = (n: number) => new Date(Date.now() + n * 1000);
const exchange = (subjectToken: string, extra: Record<string, string> = {}) =>
  postToken(
    sts,
    { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: TT.saml2, ...extra },
    asAgent,
  );
const bearer = (assertion: string, extra: Record<string, string> = {}) =>
  postToken(sts, { grant_type: SAML2_BEARER, assertion, ...extra }, asAgent);

type Response = Awaited<ReturnType<typeof postToken>>;
/** The RFC 6749 §5.2 refusal and the one audit line it leaves. */
async function expectRefused(send: () => Promise<Response>, status: number, error: string, description: string) {
  await expectTokenRefused(sts, send, { status, error, description });
}

/** `xml` presented as a subject_token, refused: 400 invalid_request (RFC 8693 §2.2.2). */
const refusedAsSubject = (xml: string, description: string) =>
  expectRefused(() => exchange(base64url(xml)), 400, 'invalid_request', description);
/** `xml` presented as an RFC 7522 assertion, refused: 400 invalid_grant (RFC 7522 §3.1). */
const refusedAsAssertion = (xml: string, description: string) =>
  expectRefused(() => bearer(base64url(xml)), 400, 'invalid_grant', description);

beforeAll(async () => {
  const port = await freePort();
  stsIssuer = `http://127.0.0.1:${port}`;
  tokenEndpoint = `${stsIssuer}/oauth/token`;
  const sp = { spEntityId: SP_ENTITY_ID, tokenEndpoint };
  [idp, optIn, rogue, inclusive, inclusiveRogue, unskewed] = await Promise.all([
    createSamlTestIdp({ entityId: 'https://idp.example/saml', ...sp }),
    createSamlTestIdp({ entityId: 'urn:example:optin-idp', ...sp }),
    createSamlTestIdp({ entityId: 'https://idp.example/saml', ...sp }),
    createSamlTestIdp({ entityId: 'https://inclusive-idp.example/saml', ...sp }),
    createSamlTestIdp({ entityId: 'https://inclusive-idp.example/saml', ...sp }),
    createSamlTestIdp({ entityId: 'https://unskewed-idp.example/saml', ...sp }),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'actbridge-saml-'));
  writeFileSync(join(dir, 'idp-metadata.xml'), idp.metadata);
  sts = await startTestApp({
    port,
    anchors: {
      idp: { kind: 'saml', issuer: idp.entityId, saml: { metadata_file: join(dir, 'idp-metadata.xml') } },
      optin: {
        kind: 'saml',
        issuer: optIn.entityId,
        saml: { certificates: [optIn.certificate], allow_unsigned_assertion_in_signed_response: true },
      },
      inclusive: {
        kind: 'saml',
        issuer: inclusive.entityId,
        saml: { certificates: [inclusive.certificate], canonicalization: 'inclusive' },
      },
      unskewed: {
        kind: 'saml',
        issuer: unskewed.entityId,
        clock_skew: 0,
        saml: { certificates: [unskewed.certificate] },
      },
    },
    clients: [
      basicClient('agent', SECRET, {
        grant_types: [GRANT_TOKEN_EXCHANGE, SAML2_BEARER],
        audiences: [API, 'https://other.example/'],
        default_audience: API,
        scopes: ['read', 'write'],
      }),
      basicClient('exchanger', SECRET, { audiences: [API], default_audience: API }),
    ],
    env: { SAML_SP_ENTITY_ID: SP_ENTITY_ID },
  });
});

afterAll(async () => {
  // No assertion (or any part of one) reaches an audit line.
  const audit = JSON.stringify(sts?.audit.lines ?? []);
  expect(audit).not.toMatch(/PHNhbWw|<saml|BEGIN CERT/);
  await sts?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const verifyIssued = (token: string, audience = API) =>
  jwtVerify(token, createRemoteJWKSet(new URL(`${stsIssuer}/.well-known/jwks.json`)), {
    issuer: stsIssuer,
    audience,
    typ: 'at+jwt',
  });

describe('token exchange with a saml2 subject_token', () => {
  it('exchanges a signed Assertion (base64url, unpadded): NameID becomes sub, the client the actor', async () => {
    const res = await exchange(base64url(idp.signedAssertion({ nameId: 'alice@example.com' })), { scope: 'read' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issued_token_type: TT.accessToken, token_type: 'Bearer', scope: 'read' });
    const { payload } = await verifyIssued(res.body.access_token as string);
    expect(payload).toMatchObject({
      sub: 'alice@example.com',
      sub_id: { format: 'iss_sub', iss: idp.entityId, sub: 'alice@example.com' },
      client_id: 'agent',
      scope: 'read',
      act: { sub: 'agent', iss: stsIssuer },
      // The AuthnStatement: AuthnContextClassRef as acr, AuthnInstant as auth_time (RFC 9068 §2.2.1).
      acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
      auth_time: expect.any(Number),
    });
    expect(payload.amr).toBeUndefined();
    // The token never outlives the assertion (5 minutes).
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      subject_token_type: TT.saml2,
      subject: { sub: 'alice@example.com', iss: idp.entityId },
      mode: 'delegation',
    });
  });

  it('exchanges a samlp:Response in padded base64, Response and Assertion signed', async () => {
    const xml = await idp.response({ assertion: true, response: true }, { nameId: 'bob@example.com' });
    const token = base64(xml);
    expect(token).toMatch(/[+/=]/); // really the padded standard alphabet
    const res = await exchange(token);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({ sub: 'bob@example.com', scope: 'read write' });
  });

  it('exchanges a Response whose Assertion alone is signed', async () => {
    const res = await exchange(base64url(await idp.response({ assertion: true, response: false })));
    expect(res.status).toBe(200);
  });

  it('accepts an AudienceRestriction naming the issuer or the token endpoint instead of the SP entity ID', async () => {
    for (const audience of [stsIssuer, tokenEndpoint]) {
      const res = await exchange(base64url(idp.signedAssertion({ audience })));
      expect(res.status).toBe(200);
    }
  });

  it('accepts an unsigned Assertion in a signed Response only from the anchor that opted in', async () => {
    const fromOptIn = await optIn.response({ assertion: false, response: true });
    expect(fromOptIn).not.toMatch(/<ds:Signature>[^]*<ds:Signature>/); // one signature: the Response's
    const res = await exchange(base64url(fromOptIn));
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).sub_id).toMatchObject({ iss: optIn.entityId });

    const fromIdp = await idp.response({ assertion: false, response: true });
    await refusedAsSubject(fromIdp, 'subject_token Assertion is not signed');
  });

  it('refuses a saml1 subject_token type with a clear error', async () => {
    await expectRefused(
      () => exchange('PEFzc2VydGlvbi8-', { subject_token_type: SAML1 }),
      400,
      'invalid_request',
      'saml1 is not supported as subject_token_type; present a SAML 2.0 assertion as urn:ietf:params:oauth:token-type:saml2',
    );
  });
});

describe('RFC 7522 saml2-bearer grant', () => {
  it('issues an access token for the client on the subject’s behalf, without act', async () => {
    const res = await bearer(base64url(idp.signedAssertion({ nameId: 'carol@example.com' })), {
      resource: 'https://other.example/',
      scope: 'write',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      scope: 'write',
    });
    const { payload } = await verifyIssued(res.body.access_token as string, 'https://other.example/');
    expect(payload).toMatchObject({ sub: 'carol@example.com', client_id: 'agent', scope: 'write' });
    expect(payload.act).toBeUndefined();
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      grant_type: SAML2_BEARER,
      assertion_type: TT.saml2,
      client_id: 'agent',
      subject: { sub: 'carol@example.com', iss: idp.entityId },
      mode: 'assertion',
      audience: ['https://other.example/'],
      scope: 'write',
    });
  });

  it('is advertised in the metadata', async () => {
    const metadata = (await (await fetch(`${stsIssuer}/.well-known/oauth-authorization-server`)).json()) as {
      grant_types_supported: string[];
    };
    expect(metadata.grant_types_supported).toEqual([
      GRANT_TOKEN_EXCHANGE,
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      SAML2_BEARER,
    ]);
  });

  it('refuses a client not registered for the grant', async () => {
    await expectRefused(
      () =>
        postToken(
          sts,
          { grant_type: SAML2_BEARER, assertion: base64url(idp.signedAssertion()) },
          {
            basic: ['exchanger', SECRET],
          },
        ),
      400,
      'unauthorized_client',
      'this client may not use this grant_type',
    );
  });

  it('requires the assertion parameter', async () => {
    await expectRefused(() => bearer(''), 400, 'invalid_request', 'assertion is required');
  });

  it('refuses an invalid assertion with invalid_grant (RFC 7522 §3.1)', async () => {
    await refusedAsAssertion(
      idp.signedAssertion({ audience: 'https://someone-else.example' }),
      `assertion audience is not accepted: its AudienceRestriction must name ${SP_ENTITY_ID}`,
    );
  });

  it('refuses an assertion whose one bearer confirmation has a reversed window (SAML Core §2.4.1.2)', async () => {
    const reversed = idp
      .unsignedAssertion({ confirmationNotOnOrAfter: seconds(5) })
      .replace(
        '<saml:SubjectConfirmationData ',
        `<saml:SubjectConfirmationData NotBefore="${seconds(10).toISOString()}" `,
      );
    await refusedAsAssertion(
      idp.sign(reversed, 'exclusive'),
      'assertion bearer SubjectConfirmation has a NotBefore not before its NotOnOrAfter',
    );
  });

  it('refuses a replayed assertion ID, across both ways of presenting it', async () => {
    const assertion = base64url(idp.signedAssertion());
    expect((await bearer(assertion)).status).toBe(200);
    await expectRefused(
      () => bearer(assertion),
      400,
      'invalid_grant',
      'assertion has already been used (assertion ID replay)',
    );
    await expectRefused(
      () => exchange(assertion),
      400,
      'invalid_request',
      'subject_token has already been used (assertion ID replay)',
    );
  });
});

// RFC 7522 §3 item 6: an assertion is single use, spent by the token it yields; a request refused for its
// scope or target (which the client corrects and retries) does not use it up.
describe('an assertion is spent only by the token it yields', () => {
  it.each([
    ['token exchange', exchange, 'invalid_request', 'subject_token has already been used (assertion ID replay)'],
    ['the saml2-bearer grant', bearer, 'invalid_grant', 'assertion has already been used (assertion ID replay)'],
  ] as const)(
    '%s: refused for its scope or target, then issued on the retry, then refused as a replay',
    async (_name, send, replayError, replayDescription) => {
      const assertion = base64url(idp.signedAssertion());
      await expectRefused(
        () => send(assertion, { scope: 'admin' }),
        400,
        'invalid_scope',
        'scope not allowed for this client: admin',
      );
      await expectRefused(
        () => send(assertion, { audience: 'https://nowhere.example/' }),
        400,
        'invalid_target',
        "target not allowed for this client: 'https://nowhere.example/'",
      );
      expect((await send(assertion, { scope: 'read' })).status).toBe(200);
      await expectRefused(() => send(assertion, { scope: 'read' }), 400, replayError, replayDescription);
    },
  );
});

// SAML Core §2.4.1.2: each bearer SubjectConfirmation admits the assertion in its own window; single use
// must hold until the last of them closes, including one not yet open when the assertion is first used.
describe('single use across bearer SubjectConfirmations (RFC 7522 §3 item 6)', () => {
  /** Signed by `from`, without a Conditions NotOnOrAfter, with a second bearer confirmation valid in [notBefore, notOnOrAfter). */
  const withLaterConfirmation = (from: SamlTestIdp, o: AssertionOptions, notBefore: Date, notOnOrAfter: Date) =>
    from.sign(
      from
        .unsignedAssertion(o)
        .replace(/(<saml:Conditions NotBefore="[^"]*") NotOnOrAfter="[^"]*"/, '$1')
        .replace(
          '</saml:SubjectConfirmation>',
          `</saml:SubjectConfirmation><saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}" Recipient="${tokenEndpoint}"/></saml:SubjectConfirmation>`,
        ),
      'exclusive',
    );

  it('refuses the assertion again once its first confirmation has expired and a later one opened', async () => {
    const start = Date.now();
    const switchover = new Date(start + 3000);
    const assertion = base64url(
      withLaterConfirmation(unskewed, { confirmationNotOnOrAfter: switchover }, switchover, minutes(5)),
    );
    expect((await exchange(assertion)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, start + 4000 - Date.now()));
    await expectRefused(
      () => exchange(assertion),
      400,
      'invalid_request',
      'subject_token has already been used (assertion ID replay)',
    );
  });

  it('refuses a confirmation not yet valid whose NotOnOrAfter is unreasonably far ahead', async () => {
    await refusedAsAssertion(
      withLaterConfirmation(idp, {}, minutes(2), minutes(24 * 60)),
      'assertion expires too far in the future (more than 3600 s ahead)',
    );
  });
});

/** Hostile or broken inputs, each refused with its exact error; shown for subject_token (invalid_request). */
describe('refusals', () => {
  const signed = (o: AssertionOptions = {}) => base64url(idp.signedAssertion(o));
  /** A signed assertion with `text` added at the end of its SignatureValue's content. */
  const inSignatureValue = (text: string) =>
    base64url(idp.signedAssertion().replace('</ds:SignatureValue>', `${text}</ds:SignatureValue>`));
  const invalidSignature = `subject_token signature is invalid: not made with a certificate of https://idp.example/saml, or the signed content was altered`;

  const NAME_ID = 'alice@example.com.evil.example';
  const wrapInAdvice = (xml: string) => {
    // Signature wrapping: an unsigned evil twin at the root, the genuine signed assertion tucked inside it.
    const evil = idp
      .unsignedAssertion({ nameId: 'admin@example.com' })
      .replace('<saml:AuthnStatement', `<saml:Advice>${xml}</saml:Advice><saml:AuthnStatement`);
    return evil;
  };

  it.each<[string, () => Promise<string> | string, string]>([
    [
      'wrong audience',
      () => signed({ audience: 'https://someone-else.example' }),
      `subject_token audience is not accepted: its AudienceRestriction must name ${SP_ENTITY_ID}`,
    ],
    [
      'expired',
      () => signed({ issueInstant: minutes(-20), notBefore: minutes(-20), notOnOrAfter: minutes(-10) }),
      'subject_token has expired (NotOnOrAfter)',
    ],
    [
      'not yet valid',
      () => signed({ notBefore: minutes(10), notOnOrAfter: minutes(15) }),
      'subject_token is not yet valid (NotBefore)',
    ],
    [
      // SAML Core §2.5.1.2; each end alone is within the 30 s clock skew.
      'a reversed Conditions window',
      () => signed({ notBefore: seconds(10), notOnOrAfter: seconds(5) }),
      'subject_token has Conditions whose NotBefore is not before its NotOnOrAfter',
    ],
    [
      'issued in the future',
      () => signed({ issueInstant: minutes(10) }),
      'subject_token was issued in the future (IssueInstant)',
    ],
    [
      // SAML Core §2.7.2; carried as auth_time it would pass every max_age (RFC 9470) while the token lives.
      'an AuthnInstant in the future',
      () =>
        base64url(
          idp.sign(
            idp
              .unsignedAssertion()
              .replace(
                /<saml:AuthnStatement AuthnInstant="[^"]*"/,
                `<saml:AuthnStatement AuthnInstant="${minutes(10).toISOString()}"`,
              ),
            'exclusive',
          ),
        ),
      'subject_token says its subject authenticated in the future (AuthnStatement AuthnInstant)',
    ],
    [
      'expiry unreasonably far ahead',
      () => signed({ notOnOrAfter: minutes(24 * 60) }),
      'subject_token expires too far in the future (more than 3600 s ahead)',
    ],
    ['unsigned assertion', () => base64url(idp.unsignedAssertion()), 'subject_token Assertion is not signed'],
    ['wrong certificate', () => base64url(rogue.signedAssertion()), invalidSignature],
    [
      'tampered attribute',
      () => base64url(idp.signedAssertion({ attributes: { groups: ['readers'] } }).replace('>readers<', '>admins<')),
      invalidSignature,
    ],
    [
      'tampered NameID',
      () => base64url(idp.signedAssertion({ nameId: 'mallory@example.com' }).replace('mallory@', 'alice@')),
      invalidSignature,
    ],
    [
      'signature wrapping: signed assertion moved inside an unsigned evil twin',
      () => base64url(wrapInAdvice(idp.signedAssertion())),
      'subject_token must carry exactly one Assertion (nested assertions are not accepted)',
    ],
    [
      'signature wrapping: evil twin added beside the signed assertion in a Response',
      async () => {
        const xml = await idp.response({ assertion: true, response: false });
        const evil = idp.unsignedAssertion({ nameId: 'admin@example.com' });
        return base64url(xml.replace('<saml:Assertion', `${evil}<saml:Assertion`));
      },
      'subject_token must carry exactly one Assertion',
    ],
    [
      'signature wrapping: signed assertion moved to Extensions, its signature copied onto an evil twin',
      async () => {
        const xml = await idp.response({ assertion: true, response: false });
        const genuine = xml.slice(
          xml.indexOf('<saml:Assertion'),
          xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length,
        );
        const evil = genuine.replace('alice@example.com', 'admin@example.com');
        return base64url(
          xml
            .replace(genuine, evil)
            .replace('<samlp:Status>', `<samlp:Extensions>${genuine}</samlp:Extensions><samlp:Status>`),
        );
      },
      invalidSignature,
    ],
    [
      'a comment injected into the NameID (signature still valid)',
      () =>
        base64url(
          idp.signedAssertion({ nameId: NAME_ID }).replace(`>${NAME_ID}<`, '>alice@example.com<!---->.evil.example<'),
        ),
      'subject_token must not contain XML comments or processing instructions',
    ],
    [
      // NameIDType is simple content: the IdP's text, not text pieced together around an element (read 'admin').
      'an element inside the NameID (signature valid)',
      () =>
        base64url(
          idp.sign(
            idp.unsignedAssertion({ nameId: NAME_ID }).replace(`>${NAME_ID}<`, '>ad<saml:Part>min</saml:Part><'),
            'exclusive',
          ),
        ),
      'subject_token has an element inside its NameID, which holds text only',
    ],
    [
      'a DOCTYPE with entity declarations',
      () => base64url(`<!DOCTYPE a [<!ENTITY x "alice@example.com">]>${idp.signedAssertion()}`),
      'subject_token must not contain a DOCTYPE or entity declarations',
    ],
    [
      'an external entity (XXE)',
      () => base64url(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`),
      'subject_token must not contain a DOCTYPE or entity declarations',
    ],
    [
      'wrong Issuer',
      () => signed({ issuer: 'https://unknown-idp.example/saml' }),
      'subject_token issuer is not trusted',
    ],
    [
      'no bearer SubjectConfirmation',
      () => signed({ method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }),
      'subject_token has no bearer SubjectConfirmation',
    ],
    [
      'wrong Recipient',
      () => signed({ recipient: 'https://elsewhere.example/acs' }),
      `subject_token bearer SubjectConfirmation Recipient is not this token endpoint (${'%TOKEN_ENDPOINT%'})`,
    ],
    ['no Recipient', () => signed({ recipient: null }), 'subject_token bearer SubjectConfirmation has no Recipient'],
    [
      // SAML Profiles §4.1.4.2, §4.1.5: actbridge sends no AuthnRequest, so no InResponseTo can match one of its own.
      'a bearer confirmation answering an AuthnRequest (InResponseTo)',
      () =>
        base64url(
          idp.sign(
            idp
              .unsignedAssertion()
              .replace('<saml:SubjectConfirmationData ', '<saml:SubjectConfirmationData InResponseTo="_req1" '),
            'exclusive',
          ),
        ),
      'subject_token bearer SubjectConfirmation answers an AuthnRequest (InResponseTo), but actbridge sends none: only unsolicited assertions are accepted',
    ],
    [
      'expired SubjectConfirmation',
      () => signed({ confirmationNotOnOrAfter: minutes(-5) }),
      'subject_token bearer SubjectConfirmation has expired (NotOnOrAfter)',
    ],
    [
      'a ds:Object riding in the Signature (outside the accepted signature profile)',
      () =>
        base64url(
          idp.signedAssertion().replace('</ds:SignatureValue>', '</ds:SignatureValue><ds:Object>x</ds:Object>'),
        ),
      'subject_token signature is not in the accepted profile: Signature may carry only SignedInfo, SignatureValue and KeyInfo',
    ],
    [
      'elements nested 10,000 deep',
      () => base64url(`${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`),
      'subject_token is nested too deeply (more than 32 elements)',
    ],
    [
      // XML 1.0 §4.3.3: its IdP and other SAML stacks would read the NameID as 'zoÃ«@example.com'.
      'UTF-8 text in a document declaring ISO-8859-1',
      () =>
        base64url(`<?xml version="1.0" encoding="ISO-8859-1"?>${idp.signedAssertion({ nameId: 'zoë@example.com' })}`),
      'subject_token is not UTF-8 encoded XML (its XML declaration names another encoding)',
    ],
    [
      'XML 1.1',
      () => base64url(`<?xml version="1.1"?>${idp.signedAssertion()}`),
      'subject_token must be XML version 1.0',
    ],
    ['garbage base64', () => 'not base64!!', 'subject_token is not base64url-encoded'],
    ['base64 of something else', () => base64url('{"alg":"none"}'), 'subject_token is not an XML document'],
    [
      'malformed XML',
      () => base64url('<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'),
      'subject_token is not well-formed XML (unclosed tag)',
    ],
    [
      'an entity no DTD declares',
      () => inSignatureValue('&bogus;'),
      'subject_token is not well-formed XML (undefined entity)',
    ],
    [
      'a character reference to NUL',
      () => inSignatureValue('&#0;'),
      'subject_token is not well-formed XML (character reference to a disallowed character)',
    ],
    [
      'a control character',
      () => inSignatureValue('\u0001'),
      'subject_token is not well-formed XML (disallowed character)',
    ],
    [
      '"]]>" in character data',
      () => inSignatureValue(']]>'),
      "subject_token is not well-formed XML (the string ']]>' in character data)",
    ],
    [
      'a second root element',
      () => base64url(`${idp.signedAssertion()}${idp.signedAssertion()}`),
      'subject_token is not well-formed XML (more than one root element)',
    ],
    ['not SAML', () => base64url('<html><body/></html>'), 'subject_token is not a SAML 2.0 Assertion or Response'],
  ])('%s', async (_name, make, description) => {
    const token = await make();
    const before = sts.audit.lines.length;
    const res = await exchange(token);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toBe(description.replace('%TOKEN_ENDPOINT%', tokenEndpoint));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(sts.audit.lines.length).toBe(before + 1);
    expect(sts.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', error: 'invalid_request' });
  });

  it.each([
    ['an unbound prefix', '<é:Assertion/>', 'unbound prefix', 'é'],
    ['an unmatched end tag', '<a></ä>', 'unmatched end tag', 'ä'],
    ['a duplicate attribute', '<a ö="1" ö="2"/>', 'duplicate attribute', 'ö'],
  ])('XML: %s is described without its name, which goes to the audit line only', async (_name, xml, problem, name) => {
    await expectTokenRefused(sts, () => exchange(base64url(xml)), {
      error: 'invalid_request',
      description: `subject_token is not well-formed XML (${problem})`,
    });
    expect(sts.audit.lines.at(-1)).toMatchObject({
      reason: `subject_token is not well-formed XML (${problem}: ${name})`,
    });
  });

  it('the comment-injection assertion is otherwise genuine: without the comment it is accepted as the full NameID', async () => {
    const res = await exchange(base64url(idp.signedAssertion({ nameId: NAME_ID })));
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).sub).toBe(NAME_ID);
  });
});

// The canonicalization is read from SignedInfo (CanonicalizationMethod, the Reference's Transform), never
// from the unsigned KeyInfo; inclusive c14n only from an anchor that opted in, under the same profile.
describe('signature canonicalization', () => {
  const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
  const withCarriageReturn = (from: SamlTestIdp, o: AssertionOptions = {}) =>
    from
      .unsignedAssertion({ nameId: 'alice@corp.example', attributes: { note: ['line one|line two'] }, ...o })
      .replace('alice@corp.example', 'alice&#13;@corp.example')
      .replace('line one|line two', 'line one&#13;&#10;line two');
  const notOptedIn = `subject_token signature is not in the accepted profile: CanonicalizationMethod ${C14N} is accepted only from an IdP whose trust anchor sets saml.canonicalization: inclusive`;

  it('refuses inclusive c14n from an anchor that has not opted in', async () => {
    await refusedAsSubject(idp.sign(idp.unsignedAssertion(), 'inclusive'), notOptedIn);
    await refusedAsAssertion(
      idp.sign(idp.unsignedAssertion(), 'inclusive'),
      notOptedIn.replace('subject_token', 'assertion'),
    );
  });

  it.each([
    ['inclusive c14n, from the anchor that opted in', () => inclusive.sign(withCarriageReturn(inclusive), 'inclusive')],
    ['exclusive c14n, from the same anchor', () => inclusive.sign(withCarriageReturn(inclusive), 'exclusive')],
    ['exclusive c14n, from an anchor that did not opt in', () => idp.sign(withCarriageReturn(idp), 'exclusive')],
  ])('%s: the values are read from the verified nodes, a signed CR included', async (_name, make) => {
    const res = await exchange(base64url(make()));
    expect(res.status).toBe(200);
    const claims = claimsOf(res.body.access_token as string);
    expect(claims.sub).toBe('alice\r@corp.example');
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      subject: { sub: 'alice\r@corp.example' },
    });
  });

  it('an Assertion signed with inclusive c14n inside a Response (its namespaces in scope) is read exactly', async () => {
    // samlify signs a Response whose Assertion it leaves unsigned; that signature is taken off (it would
    // cover the Assertion signed below), leaving an unsigned Response around the inclusive-c14n Assertion.
    const response = (await inclusive.response({ assertion: false, response: false }, { nameId: 'bob@corp.example' }))
      .replace(/<ds:Signature[^]*?<\/ds:Signature>/, '')
      .replace('bob@corp.example', 'bob&#13;@corp.example');
    expect(response).not.toContain('Signature');
    const res = await bearer(base64url(inclusive.sign(response, 'inclusive')));
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).sub).toBe('bob\r@corp.example');
  });

  const signedInclusive = () => inclusive.sign(inclusive.unsignedAssertion(), 'inclusive');
  it.each([
    [
      'signed by another key',
      () => inclusiveRogue.sign(inclusiveRogue.unsignedAssertion(), 'inclusive'),
      'subject_token signature is invalid: not made with a certificate of https://inclusive-idp.example/saml, or the signed content was altered',
    ],
    [
      'with its NameID altered',
      () => signedInclusive().replace('alice@example.com', 'admin@example.com'),
      'subject_token signature is invalid: not made with a certificate of https://inclusive-idp.example/saml, or the signed content was altered',
    ],
    [
      'with a ds:Object riding in the Signature',
      () => signedInclusive().replace('</ds:SignatureValue>', '</ds:SignatureValue><ds:Object>x</ds:Object>'),
      'subject_token signature is not in the accepted profile: Signature may carry only SignedInfo, SignatureValue and KeyInfo',
    ],
    [
      'with a second KeyInfo',
      () =>
        signedInclusive().replace(
          '</ds:Signature>',
          '<ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo></ds:Signature>',
        ),
      'subject_token signature is not in the accepted profile: Signature may carry only SignedInfo, SignatureValue and KeyInfo',
    ],
  ])('refuses inclusive c14n under the opt-in %s', async (_name, make, description) => {
    await refusedAsSubject(make(), description);
  });

  // KeyInfo is unsigned: a KeyName whose Algorithm names inclusive c14n must change nothing.
  const keyName = (xml: string) =>
    xml.replace('<ds:KeyInfo>', `<ds:KeyInfo><ds:KeyName Algorithm="${C14N}">k</ds:KeyName>`);

  it('a KeyName naming inclusive c14n in KeyInfo changes nothing: verified as exclusive c14n', async () => {
    const res = await exchange(base64url(keyName(idp.signedAssertion({ nameId: 'carol@example.com' }))));
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).sub).toBe('carol@example.com');
  });

  it.each([
    [
      'a forged NameID',
      (xml: string) => xml.replace('alice@example.com', 'admin@example.com'),
      'subject_token signature is invalid: not made with a certificate of https://idp.example/saml, or the signed content was altered',
    ],
    [
      'a ds:Object',
      (xml: string) => xml.replace('</ds:KeyInfo>', '</ds:KeyInfo><ds:Object>admin</ds:Object>'),
      'subject_token signature is not in the accepted profile: Signature may carry only SignedInfo, SignatureValue and KeyInfo',
    ],
    [
      'the KeyInfo moved before SignedInfo',
      (xml: string) => {
        const keyInfo = /<ds:KeyInfo>[^]*<\/ds:KeyInfo>/.exec(xml)![0];
        return xml.replace(keyInfo, '').replace('<ds:SignedInfo>', `${keyInfo}<ds:SignedInfo>`);
      },
      'subject_token signature is not in the accepted profile: Signature must start with SignedInfo and SignatureValue',
    ],
  ])('a KeyName naming inclusive c14n and %s: refused as without it', async (_name, change, description) => {
    await refusedAsSubject(change(keyName(idp.signedAssertion())), description);
  });
});

describe('Response Destination (SAML Bindings §3.5.5.2)', () => {
  const elsewhere = 'https://other-sp.example/acs';

  it('refuses a signed Response the IdP addressed to another service provider', async () => {
    const xml = await idp.response({ assertion: true, response: true }, { destination: elsewhere });
    await refusedAsSubject(xml, `subject_token Response Destination is not this token endpoint (${tokenEndpoint})`);
    const again = await idp.response({ assertion: true, response: true }, { destination: elsewhere });
    await refusedAsAssertion(again, `assertion Response Destination is not this token endpoint (${tokenEndpoint})`);
  });

  it('refuses it also when the Response alone is signed (the opted-in anchor)', async () => {
    const xml = await optIn.response({ assertion: false, response: true }, { destination: elsewhere });
    await refusedAsSubject(xml, `subject_token Response Destination is not this token endpoint (${tokenEndpoint})`);
  });

  it('refuses a signed Response answering an AuthnRequest (InResponseTo): actbridge sends none (SAML Profiles §4.1.5)', async () => {
    const xml = await idp.response({ assertion: true, response: true }, { inResponseTo: '_req1' });
    expect(xml).toContain('InResponseTo="_req1"');
    await refusedAsAssertion(
      xml,
      'assertion Response answers an AuthnRequest (InResponseTo), but actbridge sends none: only unsolicited assertions are accepted',
    );
  });

  it('accepts a signed Response without Destination (optional, SAML Core §3.2.2)', async () => {
    const xml = await idp.response({ assertion: true, response: true }, { destination: null });
    expect(xml).not.toContain('Destination=');
    expect((await exchange(base64url(xml))).status).toBe(200);
  });

  it('does not read the Destination of an unsigned Response (only the signed Assertion is)', async () => {
    const xml = await idp.response({ assertion: true, response: false }, { destination: elsewhere });
    expect((await exchange(base64url(xml))).status).toBe(200);
  });
});

describe('ProxyRestriction (SAML Core §2.5.1.6): honoured', () => {
  const proxy = (count: string | undefined, audiences: string[] = []) =>
    `<saml:ProxyRestriction${count === undefined ? '' : ` Count="${count}"`}>${audiences
      .map((a) => `<saml:Audience>${a}</saml:Audience>`)
      .join('')}</saml:ProxyRestriction>`;

  it.each([
    ['Count="0"', proxy('0'), "subject_token ProxyRestriction forbids issuing a token on its basis (Count='0')"],
    ['two ProxyRestrictions', proxy('1') + proxy('1'), 'subject_token has more than one ProxyRestriction'],
    ['a malformed Count', proxy('-1'), 'subject_token has a malformed ProxyRestriction Count'],
  ])('refuses %s', async (_name, conditions, description) => {
    await refusedAsSubject(idp.signedAssertion({ conditions }), description);
  });

  it('refuses Count="0" at the saml2-bearer grant too (invalid_grant)', async () => {
    await refusedAsAssertion(
      idp.signedAssertion({ conditions: proxy('0') }),
      "assertion ProxyRestriction forbids issuing a token on its basis (Count='0')",
    );
  });

  it.each([
    ['Count="1" naming the audience issued', proxy('1', ['https://other-sp.example', API])],
    ['no Count and no Audience', proxy(undefined)],
  ])('accepts %s', async (_name, conditions) => {
    expect((await exchange(base64url(idp.signedAssertion({ conditions })))).status).toBe(200);
  });

  // Its Audience list names where a token issued on the assertion's basis may go, not who may issue it.
  it('holds the issued audience to its Audience list, by both routes (invalid_target beyond it)', async () => {
    const conditions = proxy('2', ['https://other.example/']);
    await expectRefused(
      () => exchange(base64url(idp.signedAssertion({ conditions }))),
      400,
      'invalid_target',
      `target not allowed by the subject_token's ProxyRestriction: '${API}'`,
    );
    await expectRefused(
      () => bearer(base64url(idp.signedAssertion({ conditions })), { audience: API }),
      400,
      'invalid_target',
      `target not allowed by the assertion's ProxyRestriction: '${API}'`,
    );
    const issued = await exchange(base64url(idp.signedAssertion({ conditions })), {
      audience: 'https://other.example/',
    });
    expect(issued.status).toBe(200);
    const { payload } = await verifyIssued(issued.body.access_token as string, 'https://other.example/');
    expect(payload.aud).toBe('https://other.example/');
    const granted = await bearer(base64url(idp.signedAssertion({ conditions })), {
      audience: 'https://other.example/',
    });
    expect(granted.status).toBe(200);
  });
});

describe('replay store down', () => {
  it('fails closed with 503 temporarily_unavailable', async () => {
    const port = await freePort();
    const deadRedis = await freePort(); // nothing listens there
    const down = await startTestApp({
      port,
      anchors: { idp: { kind: 'saml', issuer: idp.entityId, saml: { certificates: [idp.certificate] } } },
      clients: [basicClient('agent', SECRET, { audiences: [API], default_audience: API })],
      env: { REDIS_URL: `redis://127.0.0.1:${deadRedis}`, SAML_SP_ENTITY_ID: SP_ENTITY_ID },
    });
    try {
      const res = await postToken(
        down,
        {
          grant_type: GRANT_TOKEN_EXCHANGE,
          subject_token: base64url(idp.signedAssertion({ recipient: down.tokenEndpoint })),
          subject_token_type: TT.saml2,
        },
        asAgent,
      );
      expect({ status: res.status, body: res.body }).toEqual({
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description: 'cannot verify single use of the subject_token right now; retry later',
        },
      });
    } finally {
      await down.close();
    }
  });
});

describe("with openid-client as the client, and the anchor's CEL rules mapping a group attribute", () => {
  let ruled: TestApp;
  let config: client.Configuration;
  const GROUP = 'http://schemas.xmlsoap.org/claims/Group';

  beforeAll(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const ruledIdp = await createSamlTestIdp({
      entityId: 'https://ruled-idp.example/saml',
      spEntityId: SP_ENTITY_ID,
      tokenEndpoint: `${issuer}/oauth/token`,
    });
    ruledIdps.push(ruledIdp);
    ruled = await startTestApp({
      port,
      anchors: {
        corp: {
          kind: 'saml',
          issuer: ruledIdp.entityId,
          saml: { certificates: [ruledIdp.certificate], attributes: { groups: GROUP } },
          rules: [
            {
              name: 'deployers',
              condition: 'attributes.?groups.orValue([]).exists(g, g == "sts-deployers")',
              grants: { audiences: [API], scopes: ['read', 'write'], max_ttl: 300, subject: '"corp:" + name_id' },
            },
          ],
        },
      },
      clients: [
        basicClient('agent', SECRET, {
          grant_types: [GRANT_TOKEN_EXCHANGE, SAML2_BEARER],
          audiences: [API],
          default_audience: API,
          scopes: ['read', 'write'],
        }),
      ],
      env: { SAML_SP_ENTITY_ID: SP_ENTITY_ID },
    });
    config = await client.discovery(new URL(issuer), 'agent', SECRET, client.ClientSecretBasic(SECRET), {
      execute: [client.allowInsecureRequests],
    });
  });

  afterAll(async () => {
    await ruled?.close();
  });

  const assertionFor = (groups: string[]) =>
    base64url(ruledIdps[0]!.signedAssertion({ nameId: 'ada@example.com', attributes: { [GROUP]: groups } }));

  it('saml2-bearer through genericGrantRequest: the rule forms sub and bounds scope and lifetime', async () => {
    const token = await client.genericGrantRequest(config, SAML2_BEARER, {
      assertion: assertionFor(['eng', 'sts-deployers']),
      scope: 'write',
    });
    expect(token).toMatchObject({ token_type: 'bearer', scope: 'write' });
    expect(token.expires_in).toBeLessThanOrEqual(300);
    expect(claimsOf(token.access_token)).toMatchObject({ sub: 'corp:ada@example.com', aud: API, client_id: 'agent' });
  });

  it('token exchange with a saml2 subject through genericGrantRequest', async () => {
    const token = await client.genericGrantRequest(config, GRANT_TOKEN_EXCHANGE, {
      subject_token: assertionFor(['sts-deployers']),
      subject_token_type: TT.saml2,
    });
    expect(claimsOf(token.access_token)).toMatchObject({ sub: 'corp:ada@example.com', act: { sub: 'agent' } });
  });

  it('an unmapped Attribute named groups is never read as the mapped Group: the assertion is refused', async () => {
    // Without the refusal, the IdP's value for another attribute (any a user may set, say) passed the rule.
    const shadowed = base64url(
      ruledIdps[0]!.signedAssertion({
        nameId: 'ada@example.com',
        attributes: { [GROUP]: ['sales'], groups: ['sts-deployers'] },
      }),
    );
    await expect(client.genericGrantRequest(config, SAML2_BEARER, { assertion: shadowed })).rejects.toMatchObject({
      error: 'invalid_grant',
      error_description:
        'assertion has an Attribute named groups, a claim name its trust anchor reserves for another attribute (saml.attributes)',
    });
    expect(ruled.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', error: 'invalid_grant' });
  });

  it('a subject outside the group gets nothing: invalid_grant through openid-client', async () => {
    await expect(
      client.genericGrantRequest(config, SAML2_BEARER, { assertion: assertionFor(['sales']) }),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
      error_description: "assertion is not granted anything by its trust anchor's policy (no rule matches)",
    });
  });
});
