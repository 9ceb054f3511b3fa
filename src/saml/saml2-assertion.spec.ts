import { describe, expect, it } from '@jest/globals';
import { parseStrictXml, XmlRejected } from './saml-xml.js';
import {
  checkAssertion,
  checkDestination,
  decodeSamlToken,
  inspectEnvelope,
  readAssertion,
  SamlRejected,
  type AssertionCheckContext,
  type AssertionFacts,
} from './saml2-assertion.js';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const NOW = 1_800_000_000;
const ENDPOINT = 'https://sts.example/oauth/token';
const ctx: AssertionCheckContext = {
  now: NOW,
  clockSkew: 30,
  issuer: 'https://idp.example',
  audiences: ['https://sts.example/saml', 'https://sts.example'],
  recipient: ENDPOINT,
  maxLifetime: 3600,
};
const facts: AssertionFacts = {
  id: '_a1',
  issuer: 'https://idp.example',
  issueInstant: NOW - 5,
  nameId: { value: 'alice@example.com' },
  confirmations: [{ method: BEARER, data: { notOnOrAfter: NOW + 300, recipient: ENDPOINT } }],
  conditions: {
    notBefore: NOW - 5,
    notOnOrAfter: NOW + 300,
    audienceRestrictions: [['https://sts.example']],
    proxyRestrictions: [],
    unsupported: [],
  },
  attributes: {},
};
const rejection = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SamlRejected || error instanceof XmlRejected) return error.message;
    throw error;
  }
  throw new Error('not rejected');
};

describe('decodeSamlToken', () => {
  const xml = '<a>é?</a>';
  it.each([
    ['base64url, unpadded', Buffer.from(xml).toString('base64url')],
    ['base64, padded', Buffer.from(xml).toString('base64')],
  ])('decodes %s', (_name, token) => {
    expect(decodeSamlToken(token)).toBe(xml);
  });

  it.each([
    ['spaces', 'PGE+ PC9hPg=='],
    ['mixed alphabets', 'PGE+PC9h-_'],
    ['impossible length', 'PGE+P'],
    ['padding on a wrong length', 'PGE=='],
    ['padding inside', 'PG=E'],
  ])('refuses %s', (_name, token) => {
    expect(rejection(() => decodeSamlToken(token))).toBe('is not base64url-encoded');
  });

  // XML 1.0 §4.3.3: read as UTF-8, 'Ã«' declared as ISO-8859-1 would be 'Ã«' to every other reader.
  it.each([
    ['ISO-8859-1', `<?xml version="1.0" encoding="ISO-8859-1"?>${xml}`],
    ['UTF-16', `<?xml version='1.0' encoding='UTF-16'?>${xml}`],
    ['another encoding after a byte order mark', `\uFEFF<?xml version="1.0" encoding="windows-1252"?><a/>`],
  ])('refuses a document whose XML declaration names %s, not ASCII', (_name, doc) => {
    expect(rejection(() => decodeSamlToken(Buffer.from(doc).toString('base64url')))).toBe(
      'is not UTF-8 encoded XML (its XML declaration names another encoding)',
    );
  });

  it.each([
    `<?xml version="1.0" encoding="utf-8"?>${xml}`,
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${xml}`,
    '<?xml version="1.0" encoding="ISO-8859-1"?><a>ascii</a>',
    '<?xml version="1.0"?><a>é</a>',
  ])('reads %j: UTF-8 declared or implied, or ASCII (one reading in any encoding)', (doc) => {
    expect(decodeSamlToken(Buffer.from(doc).toString('base64url'))).toBe(doc);
  });

  it('refuses bytes that are not UTF-8, and text that is not XML', () => {
    expect(rejection(() => decodeSamlToken(Buffer.from([0x3c, 0xff, 0xfe]).toString('base64url')))).toBe(
      'is not UTF-8 encoded XML',
    );
    expect(rejection(() => decodeSamlToken(Buffer.from('eyJhbGciOiJub25lIn0').toString('base64url')))).toBe(
      'is not an XML document',
    );
  });
});

describe('inspectEnvelope', () => {
  const A = 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';
  const P = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"';
  const status = (v = 'Success') =>
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:${v}"/></samlp:Status>`;
  const assertion = (inner = '') =>
    `<saml:Assertion ${A}><saml:Issuer>https://idp.example</saml:Issuer>${inner}</saml:Assertion>`;
  const inspect = (xml: string) => inspectEnvelope(parseStrictXml(xml));

  it('reads the unverified issuer and where signatures are', () => {
    const bare = parseStrictXml(assertion());
    const { assertion: bareAssertion, ...bareFacts } = inspectEnvelope(bare);
    expect(bareFacts).toEqual({
      kind: 'assertion',
      issuer: 'https://idp.example',
      assertionSigned: false,
      responseSigned: false,
    });
    expect(bareAssertion).toBe(bare.documentElement);
    const signedResponse = parseStrictXml(
      `<samlp:Response ${P}><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>${status()}${assertion()}</samlp:Response>`,
    );
    const envelope = inspectEnvelope(signedResponse);
    expect(envelope).toMatchObject({ kind: 'response', responseSigned: true, assertionSigned: false });
    expect(envelope.response).toBe(signedResponse.documentElement);
    expect(envelope.assertion.parentNode).toBe(signedResponse.documentElement);
  });

  it.each([
    [
      'two assertions',
      `<samlp:Response ${P}>${status()}${assertion()}${assertion()}</samlp:Response>`,
      'must carry exactly one Assertion',
    ],
    ['no assertion', `<samlp:Response ${P}>${status()}</samlp:Response>`, 'must carry exactly one Assertion'],
    [
      'a failed status',
      `<samlp:Response ${P}>${status('Requester')}${assertion()}</samlp:Response>`,
      'is a Response whose status is not Success',
    ],
    [
      'a nested assertion',
      assertion(`<saml:Advice>${assertion()}</saml:Advice>`),
      'must carry exactly one Assertion (nested assertions are not accepted)',
    ],
    ['a comment', assertion('<!-- hi -->'), 'must not contain XML comments or processing instructions'],
    ['a processing instruction', assertion('<?evil x?>'), 'must not contain XML comments or processing instructions'],
    [
      'an EncryptedID',
      assertion('<saml:Subject><saml:EncryptedID/></saml:Subject>'),
      'carries an EncryptedID; encrypted elements are not supported',
    ],
    [
      'an EncryptedAssertion',
      `<samlp:Response ${P}>${status()}<saml:EncryptedAssertion ${A}/></samlp:Response>`,
      'carries an EncryptedAssertion; encrypted assertions are not supported',
    ],
    [
      'SHA-1',
      assertion(
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></ds:SignedInfo></ds:Signature>',
      ),
      'is signed with SHA-1, which is not accepted (use RSA-SHA256 or stronger)',
    ],
    [
      'SAML 1.1',
      '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"/>',
      'is a SAML 1.x assertion; only SAML 2.0 is supported',
    ],
    ['another document', '<html/>', 'is not a SAML 2.0 Assertion or Response'],
    ['no Issuer', `<saml:Assertion ${A}/>`, 'has no Issuer'],
    [
      'a Response Issuer unlike the Assertion Issuer',
      `<samlp:Response ${P}><saml:Issuer ${A}>https://other.example</saml:Issuer>${status()}${assertion()}</samlp:Response>`,
      'is a Response whose Issuer differs from its Assertion Issuer',
    ],
  ])('refuses %s', (_name, xml, message) => {
    expect(rejection(() => inspect(xml))).toBe(message);
  });
});

describe('readAssertion', () => {
  const xml = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0" IssueInstant="2027-01-15T08:00:00Z">
    <saml:Issuer>https://idp.example</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@<![CDATA[example.com]]></saml:NameID>
      <saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData NotOnOrAfter="2027-01-15T08:05:00.123Z" Recipient="${ENDPOINT}"/></saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotOnOrAfter="2027-01-15T08:05:00Z"><saml:AudienceRestriction><saml:Audience>a</saml:Audience><saml:Audience>b</saml:Audience></saml:AudienceRestriction><saml:OneTimeUse/><saml:Condition/></saml:Conditions>
    <saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>r</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
    <saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>w</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
  </saml:Assertion>`;

  it('reads NameID (all text, format kept), confirmations, conditions and attributes', () => {
    const t = Date.parse('2027-01-15T08:05:00Z') / 1000;
    expect(readAssertion(parseStrictXml(xml).documentElement)).toEqual({
      id: '_x',
      issuer: 'https://idp.example',
      issueInstant: t - 300,
      nameId: { value: 'alice@example.com', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' },
      confirmations: [{ method: BEARER, data: { notBefore: undefined, notOnOrAfter: t, recipient: ENDPOINT } }],
      conditions: {
        notBefore: undefined,
        notOnOrAfter: t,
        audienceRestrictions: [['a', 'b']],
        proxyRestrictions: [],
        unsupported: ['Condition'],
      },
      attributes: { groups: ['r', 'w'] },
    });
  });

  it('reads a leap day, and 24:00:00 as the next midnight (XML Schema §3.2.7)', () => {
    const at = (instant: string) =>
      readAssertion(parseStrictXml(xml.replace('2027-01-15T08:00:00Z', instant)).documentElement).issueInstant;
    expect(at('2028-02-29T08:00:00Z')).toBe(Date.parse('2028-02-29T08:00:00Z') / 1000);
    expect(at('2027-01-15T24:00:00Z')).toBe(Date.parse('2027-01-16T00:00:00Z') / 1000);
  });

  it('reads the AuthnStatement: AuthnInstant, class and SessionNotOnOrAfter', () => {
    const read = readAssertion(
      parseStrictXml(
        xml.replace(
          '<saml:AttributeStatement>',
          '<saml:AuthnStatement AuthnInstant="2027-01-15T07:59:00Z" SessionNotOnOrAfter="2027-01-15T16:00:00Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:x</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>',
        ),
      ).documentElement,
    );
    expect(read.authn).toEqual({ instant: Date.parse('2027-01-15T07:59:00Z') / 1000, contextClass: 'urn:x' });
    expect(read.sessionNotOnOrAfter).toBe(Date.parse('2027-01-15T16:00:00Z') / 1000);
  });

  it('reads a ProxyRestriction: Count and Audience list (SAML Core §2.5.1.6)', () => {
    const read = (restriction: string) =>
      readAssertion(parseStrictXml(xml.replace('<saml:OneTimeUse/>', restriction)).documentElement).conditions!
        .proxyRestrictions;
    expect(read('<saml:ProxyRestriction Count="2"><saml:Audience>x</saml:Audience></saml:ProxyRestriction>')).toEqual([
      { count: 2, audiences: ['x'] },
    ]);
    expect(read('<saml:ProxyRestriction Count="+00"/>')).toEqual([{ count: 0, audiences: [] }]);
    expect(read('<saml:ProxyRestriction/><saml:ProxyRestriction Count="1"/>')).toEqual([
      { audiences: [] },
      { count: 1, audiences: [] },
    ]);
  });

  it.each([
    [
      'a local-time timestamp',
      xml.replace('2027-01-15T08:00:00Z', '2027-01-15T08:00:00'),
      'has a malformed Assertion IssueInstant (UTC xs:dateTime required)',
    ],
    ...['2027-02-29T08:00:00Z', '2027-11-31T08:00:00Z', '2027-00-10T08:00:00Z', '2027-01-15T08:60:00Z'].map(
      (instant) =>
        [
          `a day or time that does not exist (${instant})`,
          xml.replace('2027-01-15T08:00:00Z', instant),
          'has a malformed Assertion IssueInstant (UTC xs:dateTime required)',
        ] as [string, string, string],
    ),
    ['SAML version 1.1', xml.replace('Version="2.0"', 'Version="1.1"'), 'is not a SAML 2.0 assertion (Version)'],
    [
      'a malformed SessionNotOnOrAfter',
      xml.replace(
        '<saml:AttributeStatement>',
        '<saml:AuthnStatement AuthnInstant="2027-01-15T07:59:00Z" SessionNotOnOrAfter="tomorrow"/><saml:AttributeStatement>',
      ),
      'has a malformed AuthnStatement SessionNotOnOrAfter (UTC xs:dateTime required)',
    ],
    ['no NameID', xml.replace(/<saml:NameID[^]*<\/saml:NameID>/, ''), 'has no NameID in its Subject'],
    // Simple content: an element inside is refused, not read through as the text around it joined up.
    [
      'a NameID holding an element',
      xml.replace('alice@<![CDATA[example.com]]>', 'ad<saml:X>min</saml:X>'),
      'has an element inside its NameID, which holds text only',
    ],
    [
      'an Issuer holding an element',
      xml.replace('>https://idp.example<', '>https://idp.<saml:X>example</saml:X><'),
      'has an element inside its Issuer, which holds text only',
    ],
    [
      'an Audience holding an element',
      xml.replace('<saml:Audience>b</saml:Audience>', '<saml:Audience><saml:X>b</saml:X></saml:Audience>'),
      'has an element inside its Audience, which holds text only',
    ],
    [
      'a ProxyRestriction Audience holding an element',
      xml.replace(
        '<saml:OneTimeUse/>',
        '<saml:ProxyRestriction><saml:Audience>b<saml:X/></saml:Audience></saml:ProxyRestriction>',
      ),
      'has an element inside its Audience, which holds text only',
    ],
    [
      'an AuthnContextClassRef holding an element',
      xml.replace(
        '<saml:AttributeStatement>',
        '<saml:AuthnStatement AuthnInstant="2027-01-15T07:59:00Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:<saml:X>mfa</saml:X></saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>',
      ),
      'has an element inside its AuthnContextClassRef, which holds text only',
    ],
    [
      'two OneTimeUse conditions (SAML Core §2.5.1.5)',
      xml.replace('<saml:OneTimeUse/>', '<saml:OneTimeUse/><saml:OneTimeUse/>'),
      'has more than one OneTimeUse condition',
    ],
    [
      'two Conditions',
      xml.replace('<saml:AttributeStatement>', '<saml:Conditions/><saml:AttributeStatement>'),
      'has more than one Conditions element',
    ],
    ...['-1', '1.5', 'two', '', ' 1', '99999999999'].map(
      (count) =>
        [
          `a ProxyRestriction Count of ${JSON.stringify(count)}`,
          xml.replace('<saml:OneTimeUse/>', `<saml:ProxyRestriction Count="${count}"/>`),
          'has a malformed ProxyRestriction Count',
        ] as [string, string, string],
    ),
  ])('refuses %s', (_name, doc, message) => {
    expect(rejection(() => readAssertion(parseStrictXml(doc).documentElement))).toBe(message);
  });
});

describe('checkAssertion (RFC 7522 §3)', () => {
  const withConditions = (c: Partial<NonNullable<AssertionFacts['conditions']>>): AssertionFacts => ({
    ...facts,
    conditions: { ...facts.conditions!, ...c },
  });
  const withConfirmation = (data: SubjectConfirmationData | undefined, method = BEARER): AssertionFacts => ({
    ...facts,
    confirmations: [{ method, ...(data && { data }) }],
  });
  type SubjectConfirmationData = NonNullable<AssertionFacts['confirmations'][number]['data']>;

  it('accepts a good assertion: expiry from Conditions, remembered until the latest NotOnOrAfter + skew', () => {
    expect(checkAssertion(facts, ctx)).toEqual({ expiresAt: NOW + 300, replayUntil: NOW + 330 });
  });

  it('accepts a bearer confirmation without data when Conditions expire, and data-only expiry', () => {
    expect(checkAssertion(withConfirmation(undefined), ctx).expiresAt).toBe(NOW + 300);
    const dataOnly = { ...withConditions({ notOnOrAfter: undefined }) };
    expect(checkAssertion(dataOnly, ctx)).toEqual({ expiresAt: NOW + 300, replayUntil: NOW + 330 });
  });

  it('drops an expired confirmation when another bearer one is usable', () => {
    const two: AssertionFacts = {
      ...facts,
      confirmations: [
        { method: BEARER, data: { notOnOrAfter: NOW - 100, recipient: ENDPOINT } },
        { method: BEARER, data: { notOnOrAfter: NOW + 200, recipient: ENDPOINT } },
      ],
    };
    expect(checkAssertion(two, ctx).expiresAt).toBe(NOW + 300);
  });

  describe('the replay window covers every bearer confirmation that could admit it, now or later', () => {
    const noConditionsExpiry = withConditions({ notOnOrAfter: undefined });
    const soon = { method: BEARER, data: { notOnOrAfter: NOW + 60, recipient: ENDPOINT } };
    const pending = { method: BEARER, data: { notBefore: NOW + 120, notOnOrAfter: NOW + 900, recipient: ENDPOINT } };

    it('remembers it until a confirmation not yet valid expires, not only the one usable now', () => {
      expect(checkAssertion({ ...noConditionsExpiry, confirmations: [soon, pending] }, ctx)).toEqual({
        expiresAt: NOW + 60,
        replayUntil: NOW + 930,
      });
    });

    it('never past the Conditions NotOnOrAfter, which ends the whole assertion', () => {
      expect(checkAssertion({ ...facts, confirmations: [soon, pending] }, ctx)).toEqual({
        expiresAt: NOW + 300,
        replayUntil: NOW + 330,
      });
      const usableBeyond = { method: BEARER, data: { notOnOrAfter: NOW + 900, recipient: ENDPOINT } };
      expect(checkAssertion({ ...facts, confirmations: [usableBeyond] }, ctx).replayUntil).toBe(NOW + 330);
    });

    it.each<[string, NonNullable<AssertionFacts['confirmations'][number]['data']>]>([
      ['another Recipient', { notBefore: NOW + 120, notOnOrAfter: NOW + 900, recipient: 'https://sts.example/acs' }],
      ['an expired one', { notOnOrAfter: NOW - 31, recipient: ENDPOINT }],
    ])('ignores a confirmation that can never admit it: %s', (_name, data) => {
      const confirmations = [soon, { method: BEARER, data }];
      expect(checkAssertion({ ...noConditionsExpiry, confirmations }, ctx).replayUntil).toBe(NOW + 90);
    });

    it('ignores a reversed confirmation: it admits nothing, now or later', () => {
      const reversed = { method: BEARER, data: { notBefore: NOW + 900, notOnOrAfter: NOW + 600, recipient: ENDPOINT } };
      expect(checkAssertion({ ...noConditionsExpiry, confirmations: [soon, reversed] }, ctx).replayUntil).toBe(
        NOW + 90,
      );
    });

    it('refuses a confirmation not yet valid that expires unreasonably far ahead', () => {
      const far = { method: BEARER, data: { notBefore: NOW + 120, notOnOrAfter: NOW + 3631, recipient: ENDPOINT } };
      expect(rejection(() => checkAssertion({ ...noConditionsExpiry, confirmations: [soon, far] }, ctx))).toBe(
        'expires too far in the future (more than 3600 s ahead)',
      );
    });
  });

  // SAML Core §2.7.2: the issued token is a session derived from the assertion.
  it('ends the issued token at the AuthnStatement SessionNotOnOrAfter when that comes first', () => {
    expect(checkAssertion({ ...facts, sessionNotOnOrAfter: NOW + 100 }, ctx)).toEqual({
      expiresAt: NOW + 100,
      replayUntil: NOW + 330,
    });
    expect(checkAssertion({ ...facts, sessionNotOnOrAfter: NOW + 9000 }, ctx).expiresAt).toBe(NOW + 300);
  });

  it('tolerates clock skew on both ends', () => {
    expect(() => checkAssertion(withConditions({ notBefore: NOW + 29 }), ctx)).not.toThrow();
    expect(() => checkAssertion(withConditions({ notBefore: NOW - 100, notOnOrAfter: NOW - 29 }), ctx)).not.toThrow();
    expect(() => checkAssertion({ ...facts, authn: { instant: NOW + 30 } }, ctx)).not.toThrow();
  });

  it.each<[string, AssertionFacts, string]>([
    ['another issuer', { ...facts, issuer: 'https://evil.example' }, 'Issuer does not match the IdP that signed it'],
    ['issued in the future', { ...facts, issueInstant: NOW + 31 }, 'was issued in the future (IssueInstant)'],
    [
      'an authentication in the future',
      { ...facts, authn: { instant: NOW + 31 } },
      'says its subject authenticated in the future (AuthnStatement AuthnInstant)',
    ],
    ['no Conditions', { ...facts, conditions: undefined }, 'has no Conditions (an AudienceRestriction is required)'],
    [
      'an unknown condition',
      withConditions({ unsupported: ['ProxyRestrictionX'] }),
      'has an unsupported condition: ProxyRestrictionX',
    ],
    ['not yet valid', withConditions({ notBefore: NOW + 31 }), 'is not yet valid (NotBefore)'],
    [
      'a reversed Conditions window, each end within skew',
      withConditions({ notBefore: NOW + 10, notOnOrAfter: NOW + 5 }),
      'has Conditions whose NotBefore is not before its NotOnOrAfter',
    ],
    [
      'an empty Conditions window',
      withConditions({ notBefore: NOW + 5, notOnOrAfter: NOW + 5 }),
      'has Conditions whose NotBefore is not before its NotOnOrAfter',
    ],
    ['expired', withConditions({ notBefore: NOW - 100, notOnOrAfter: NOW - 30 }), 'has expired (NotOnOrAfter)'],
    [
      'no AudienceRestriction',
      withConditions({ audienceRestrictions: [] }),
      'audience is not accepted: its AudienceRestriction must name https://sts.example/saml',
    ],
    [
      'another audience',
      withConditions({ audienceRestrictions: [['https://other.example']] }),
      'audience is not accepted: its AudienceRestriction must name https://sts.example/saml',
    ],
    [
      'one of two AudienceRestrictions not naming us',
      withConditions({ audienceRestrictions: [['https://sts.example'], ['https://other.example']] }),
      'audience is not accepted: its AudienceRestriction must name https://sts.example/saml',
    ],
    [
      'no bearer confirmation',
      withConfirmation(undefined, 'urn:oasis:names:tc:SAML:2.0:cm:sender-vouches'),
      'has no bearer SubjectConfirmation',
    ],
    ['no Recipient', withConfirmation({ notOnOrAfter: NOW + 60 }), 'bearer SubjectConfirmation has no Recipient'],
    [
      'another Recipient',
      withConfirmation({ notOnOrAfter: NOW + 60, recipient: 'https://sts.example/acs' }),
      `bearer SubjectConfirmation Recipient is not this token endpoint (${ENDPOINT})`,
    ],
    [
      // SAML Profiles §4.1.5: actbridge sends no AuthnRequest, so nothing sent to it answers one.
      'a confirmation answering an AuthnRequest (InResponseTo)',
      withConfirmation({ recipient: ENDPOINT, notOnOrAfter: NOW + 60, inResponseTo: '_req1' }),
      'bearer SubjectConfirmation answers an AuthnRequest (InResponseTo), but actbridge sends none: only unsolicited assertions are accepted',
    ],
    [
      'no confirmation NotOnOrAfter',
      withConfirmation({ recipient: ENDPOINT }),
      'bearer SubjectConfirmation has no NotOnOrAfter',
    ],
    [
      'an expired confirmation',
      withConfirmation({ recipient: ENDPOINT, notOnOrAfter: NOW - 31 }),
      'bearer SubjectConfirmation has expired (NotOnOrAfter)',
    ],
    [
      'a confirmation not yet valid',
      withConfirmation({ recipient: ENDPOINT, notOnOrAfter: NOW + 120, notBefore: NOW + 60 }),
      'bearer SubjectConfirmation is not yet valid (NotBefore)',
    ],
    [
      'a reversed confirmation window, each end within skew',
      withConfirmation({ recipient: ENDPOINT, notBefore: NOW + 10, notOnOrAfter: NOW + 5 }),
      'bearer SubjectConfirmation has a NotBefore not before its NotOnOrAfter',
    ],
    [
      'an empty confirmation window',
      withConfirmation({ recipient: ENDPOINT, notBefore: NOW, notOnOrAfter: NOW }),
      'bearer SubjectConfirmation has a NotBefore not before its NotOnOrAfter',
    ],
    [
      'no expiry anywhere',
      { ...withConditions({ notOnOrAfter: undefined }), confirmations: [{ method: BEARER }] },
      'bearer SubjectConfirmation has no SubjectConfirmationData (and Conditions has no NotOnOrAfter)',
    ],
    [
      'a ProxyRestriction with Count="0"',
      withConditions({ proxyRestrictions: [{ count: 0, audiences: ['https://sts.example'] }] }),
      "ProxyRestriction forbids issuing a token on its basis (Count='0')",
    ],
    [
      'two ProxyRestrictions',
      withConditions({ proxyRestrictions: [{ audiences: [] }, { audiences: [] }] }),
      'has more than one ProxyRestriction',
    ],
    [
      'a subject session that has ended',
      { ...facts, sessionNotOnOrAfter: NOW - 31 },
      'session has ended (AuthnStatement SessionNotOnOrAfter)',
    ],
    [
      'an expiry unreasonably far ahead',
      withConditions({ notOnOrAfter: NOW + 3631 }),
      'expires too far in the future (more than 3600 s ahead)',
    ],
    [
      'a confirmation expiry unreasonably far ahead',
      withConfirmation({ recipient: ENDPOINT, notOnOrAfter: NOW + 7200 }),
      'expires too far in the future (more than 3600 s ahead)',
    ],
  ])('refuses %s', (_name, input, message) => {
    expect(rejection(() => checkAssertion(input, ctx))).toBe(message);
  });
});

describe('checkAssertion: a ProxyRestriction that allows issuing on its basis', () => {
  it.each<[string, NonNullable<AssertionFacts['conditions']>['proxyRestrictions']]>([
    ['without Count or Audience', [{ audiences: [] }]],
    ['with Count="1"', [{ count: 1, audiences: [] }]],
    [
      'with an Audience list naming actbridge',
      [{ count: 1, audiences: ['https://other.example', 'https://sts.example'] }],
    ],
    // SAML Core §2.5.1.6: the list names where issued tokens may go (the delegation core holds the issued
    // audience to it), not who may issue them.
    ['with an Audience list not naming actbridge', [{ count: 3, audiences: ['https://other.example'] }]],
  ])('accepts one %s', (_name, proxyRestrictions) => {
    expect(checkAssertion({ ...facts, conditions: { ...facts.conditions!, proxyRestrictions } }, ctx).expiresAt).toBe(
      NOW + 300,
    );
  });
});

describe('checkDestination (SAML Bindings §3.5.5.2)', () => {
  const response = (destination?: string) =>
    parseStrictXml(
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0"${destination === undefined ? '' : ` Destination="${destination}"`}/>`,
    ).documentElement;

  it('accepts this token endpoint, or no Destination', () => {
    expect(() => checkDestination(response(ENDPOINT), ENDPOINT)).not.toThrow();
    expect(() => checkDestination(response(), ENDPOINT)).not.toThrow();
  });

  it.each(['https://other-sp.example/acs', `${ENDPOINT}/`, '', ENDPOINT.toUpperCase()])('refuses %j', (destination) => {
    expect(rejection(() => checkDestination(response(destination), ENDPOINT))).toBe(
      `Response Destination is not this token endpoint (${ENDPOINT})`,
    );
  });
  it('refuses a Response answering an AuthnRequest (InResponseTo): actbridge sends none (SAML Profiles §4.1.5)', () => {
    const solicited = parseStrictXml(
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" InResponseTo="_req1"/>`,
    ).documentElement;
    expect(rejection(() => checkDestination(solicited, ENDPOINT))).toBe(
      'Response answers an AuthnRequest (InResponseTo), but actbridge sends none: only unsolicited assertions are accepted',
    );
  });
});

describe("checkAssertion / checkDestination: an SSO assertion issued to a client's service provider", () => {
  const SP = 'https://chat.example/saml';
  const ACS = 'https://chat.example/saml/acs';
  const spCtx: AssertionCheckContext = {
    ...ctx,
    audiences: [SP],
    acsUrls: [ACS],
  };
  const toSp: AssertionFacts = {
    ...facts,
    confirmations: [{ method: BEARER, data: { notOnOrAfter: NOW + 300, recipient: ACS } }],
    conditions: { ...facts.conditions!, audienceRestrictions: [[SP]] },
  };
  const withRestrictions = (proxyRestrictions: NonNullable<AssertionFacts['conditions']>['proxyRestrictions']) => ({
    ...toSp,
    conditions: { ...toSp.conditions!, proxyRestrictions },
  });

  it('accepts its Audience and ACS Recipient, and a ProxyRestriction, whatever its Audience list', () => {
    expect(checkAssertion(toSp, spCtx).expiresAt).toBe(NOW + 300);
    // It answered the SP's AuthnRequest, which the SP matched (SAML Profiles §4.1.4.3).
    const solicited = {
      ...toSp,
      confirmations: [{ method: BEARER, data: { notOnOrAfter: NOW + 300, recipient: ACS, inResponseTo: '_req1' } }],
    };
    expect(checkAssertion(solicited, spCtx).expiresAt).toBe(NOW + 300);
    expect(checkAssertion(withRestrictions([{ count: 1, audiences: ['https://sts.example'] }]), spCtx).expiresAt).toBe(
      NOW + 300,
    );
    // Its Audience list bounds the issued token's audience (the delegation core), not the issuer.
    expect(checkAssertion(withRestrictions([{ count: 1, audiences: [SP] }]), spCtx).expiresAt).toBe(NOW + 300);
  });

  it.each<[string, AssertionFacts, string]>([
    ['an assertion addressed to actbridge', facts, `audience is not accepted: its AudienceRestriction must name ${SP}`],
    [
      'the token endpoint as Recipient',
      { ...toSp, confirmations: [{ method: BEARER, data: { notOnOrAfter: NOW + 300, recipient: ENDPOINT } }] },
      "bearer SubjectConfirmation Recipient is not the client's assertion consumer service",
    ],
  ])('refuses %s', (_name, input, message) => {
    expect(rejection(() => checkAssertion(input, spCtx))).toBe(message);
  });

  it('accepts a signed Response delivered to the ACS, refuses one delivered here', () => {
    const response = (destination: string) =>
      parseStrictXml(
        `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" Destination="${destination}" InResponseTo="_req1"/>`,
      ).documentElement;
    // The SP's own AuthnRequest, which the SP matched on receipt: InResponseTo is no concern of actbridge's.
    expect(() => checkDestination(response(ACS), ENDPOINT, [ACS])).not.toThrow();
    expect(rejection(() => checkDestination(response(ENDPOINT), ENDPOINT, [ACS]))).toBe(
      "Response Destination is not the client's assertion consumer service",
    );
  });
});
