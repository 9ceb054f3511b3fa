import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { createSamlTestIdp, throwawayCertificate, type SamlTestIdp } from '../../test/support/saml-idp.js';
import {
  EXCLUSIVE_PROFILE,
  INCLUSIVE_PROFILE,
  verifyEnvelopedSignature,
  verifyEnvelopedSignatureOn,
  XmlSignatureRejected,
  type SignatureProfile,
} from './enveloped-signature.js';
import { exclusiveCanonicalXml } from './exclusive-c14n.js';
import { parseStrictXml, XmlRejected, type XmlElement } from './saml-xml.js';
import {
  DSIG,
  nodeSaml,
  parseDom,
  SAML,
  SAMLP,
  xmlCrypto,
  xmlCryptoC14n,
  XS,
  XSI,
  type DomDocument,
  type DomNode,
} from '../../test/support/xml-dom.js';

/**
 * verifyEnvelopedSignature on real signatures (samlify, xml-crypto's SignedXml) and on a catalogue of
 * hostile documents. Every hostile document is refused, with exclusive c14n only and with the inclusive
 * opt-in alike (the structure required is the same); node-saml (the verifier it replaced) must refuse it
 * too, unless the row says why actbridge is stricter. Documents that break a rule of the profile are signed for real
 * (`craft`: digest and SignatureValue computed with xml-crypto's canonicalization and the IdP key), so
 * the rule, not a broken signature, is what refuses them; wrapping attacks are checked to still carry
 * a signature xml-crypto verifies on its own ("live").
 */

// --- algorithms ----------------------------------------------------------------------------------------
const MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const EXC_C14N_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const C14N_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments';
const ENVELOPED = `${DSIG}enveloped-signature`;
const XPATH = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
const XSLT = 'http://www.w3.org/TR/1999/REC-xslt-19991116';
const XPATH_FILTER2 = 'http://www.w3.org/2002/06/xmldsig-filter2';
const BASE64 = `${DSIG}base64`;
const SHA1 = `${DSIG}sha1`;
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA384 = `${MORE}sha384`;
const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';
const RSA_SHA1 = `${DSIG}rsa-sha1`;
const RSA_SHA256 = `${MORE}rsa-sha256`;
const RSA_SHA384 = `${MORE}rsa-sha384`;
const RSA_SHA512 = `${MORE}rsa-sha512`;
const RSA_PSS_SHA256 = 'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1';
const ECDSA_SHA1 = `${MORE}ecdsa-sha1`;
const ECDSA_SHA256 = `${MORE}ecdsa-sha256`;
const ECDSA_SHA384 = `${MORE}ecdsa-sha384`;
const ECDSA_SHA512 = `${MORE}ecdsa-sha512`;
const HMAC_SHA1 = `${DSIG}hmac-sha1`;
const HMAC_SHA256 = `${MORE}hmac-sha256`;
const DSA_SHA1 = `${DSIG}dsa-sha1`;

/** xml-crypto knows neither SHA-384 nor ECDSA: the missing algorithms, for signing test documents. */
const signatureAlgorithm = (uri: string, hash: string, ec: boolean) =>
  class {
    getAlgorithmName = () => uri;
    getSignature = (signedInfo: string, privateKey: string) =>
      cryptoSign(
        hash,
        Buffer.from(signedInfo),
        ec ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey,
      ).toString('base64');
    verifySignature = (material: string, key: string, value: string) =>
      cryptoVerify(
        hash,
        Buffer.from(material),
        ec ? { key, dsaEncoding: 'ieee-p1363' } : key,
        Buffer.from(value, 'base64'),
      );
  };
const EXTRA_SIGNATURE_ALGORITHMS = {
  [RSA_SHA384]: signatureAlgorithm(RSA_SHA384, 'sha384', false),
  [ECDSA_SHA256]: signatureAlgorithm(ECDSA_SHA256, 'sha256', true),
  [ECDSA_SHA384]: signatureAlgorithm(ECDSA_SHA384, 'sha384', true),
  [ECDSA_SHA512]: signatureAlgorithm(ECDSA_SHA512, 'sha512', true),
};
const EXTRA_HASH_ALGORITHMS = {
  [SHA384]: class {
    getAlgorithmName = () => SHA384;
    getHash = (xml: string) => createHash('sha384').update(xml, 'utf8').digest('base64');
  },
};

// --- keys ------------------------------------------------------------------------------------------------
interface Signer {
  readonly certificate: string;
  readonly privateKey: string;
  readonly publicKey: KeyObject;
}
let idp: SamlTestIdp;
let real: Signer;
let attacker: Signer;
let ec256: { privateKey: string; publicKey: KeyObject };
let ec384: { privateKey: string; publicKey: KeyObject };

beforeAll(async () => {
  idp = await createSamlTestIdp({
    entityId: 'https://idp.example/saml',
    spEntityId: 'https://sts.example',
    tokenEndpoint: 'https://sts.example/oauth/token',
  });
  real = { ...idp, publicKey: createPublicKey(idp.certificate) };
  const other = await throwawayCertificate('attacker.example');
  attacker = { ...other, publicKey: createPublicKey(other.certificate) };
  const ec = (namedCurve: string) => {
    const pair = generateKeyPairSync('ec', { namedCurve });
    return {
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      publicKey: pair.publicKey,
    };
  };
  ec256 = ec('P-256');
  ec384 = ec('P-384');
});

// --- documents ---------------------------------------------------------------------------------------------
const ASSERTION_ID = '_a1b2c3';
const T0 = '2026-11-23T12:00:00Z';
const T1 = '2026-11-23T12:05:00Z';

/** A SAML 2.0 Assertion; `signature` goes after the Issuer, where SAML Core §2.3.3 puts it. */
function assertion(
  o: { id?: string | null; signature?: string; nameId?: string; declare?: boolean; afterSubject?: string } = {},
): string {
  const declarations = o.declare === false ? '' : ` xmlns:saml="${SAML}" xmlns:xs="${XS}" xmlns:xsi="${XSI}"`;
  const id = o.id === null ? '' : ` ID="${o.id ?? ASSERTION_ID}"`;
  return (
    `<saml:Assertion${declarations}${id} Version="2.0" IssueInstant="${T0}">` +
    `<saml:Issuer>https://idp.example/saml</saml:Issuer>${o.signature ?? ''}` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${o.nameId ?? 'alice@example.com'}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${T1}" Recipient="https://sts.example/oauth/token"/></saml:SubjectConfirmation></saml:Subject>` +
    `${o.afterSubject ?? ''}<saml:Conditions NotBefore="${T0}" NotOnOrAfter="${T1}"><saml:AudienceRestriction><saml:Audience>https://sts.example</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue xsi:type="xs:string">readers</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
    `</saml:Assertion>`
  );
}

/** A samlp:Response declaring every namespace its Assertion uses. */
const response = (inner: string, o: { id?: string; signature?: string } = {}) =>
  `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" xmlns:xs="${XS}" xmlns:xsi="${XSI}" ID="${o.id ?? '_response'}" Version="2.0" IssueInstant="${T0}">` +
  `<saml:Issuer>https://idp.example/saml</saml:Issuer>${o.signature ?? ''}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${inner}</samlp:Response>`;

const transform = (algorithm: string, inner = '') => `<ds:Transform Algorithm="${algorithm}">${inner}</ds:Transform>`;
const inclusiveNamespaces = (prefixes: string) =>
  `<ec:InclusiveNamespaces xmlns:ec="${EXC_C14N}" PrefixList="${prefixes}"/>`;
const STANDARD_TRANSFORMS = [transform(ENVELOPED), transform(EXC_C14N)];

/** A ds:Reference; `@DIGEST@` is filled in by `craft`. `uri: null` leaves the attribute out, `transforms: null` the element. */
const reference = (
  r: { uri?: string | null; transforms?: readonly string[] | null; digest?: string; digestValue?: string } = {},
) =>
  `<ds:Reference${r.uri === null ? '' : ` URI="${r.uri ?? `#${ASSERTION_ID}`}"`}>` +
  `${r.transforms === null ? '' : `<ds:Transforms>${(r.transforms ?? STANDARD_TRANSFORMS).join('')}</ds:Transforms>`}` +
  `<ds:DigestMethod Algorithm="${r.digest ?? SHA256}"/><ds:DigestValue>${r.digestValue ?? '@DIGEST@'}</ds:DigestValue></ds:Reference>`;

interface SignatureTemplate {
  readonly c14n?: string;
  readonly c14nInner?: string;
  readonly method?: string;
  readonly methodInner?: string;
  readonly references?: readonly string[];
  /** Replaces the whole content of SignedInfo. */
  readonly signedInfo?: string;
  readonly signatureValue?: string;
  /** After SignatureValue: KeyInfo, Object. */
  readonly tail?: string;
}
/** A ds:Signature; `@SIGNATURE@` is filled in by `craft`. */
const signature = (t: SignatureTemplate = {}) =>
  `<ds:Signature xmlns:ds="${DSIG}"><ds:SignedInfo>${
    t.signedInfo ??
    `<ds:CanonicalizationMethod Algorithm="${t.c14n ?? EXC_C14N}">${t.c14nInner ?? ''}</ds:CanonicalizationMethod>` +
      `<ds:SignatureMethod Algorithm="${t.method ?? RSA_SHA256}">${t.methodInner ?? ''}</ds:SignatureMethod>` +
      (t.references ?? [reference()]).join('')
  }</ds:SignedInfo>${t.signatureValue ?? '<ds:SignatureValue>@SIGNATURE@</ds:SignatureValue>'}${t.tail ?? ''}</ds:Signature>`;

interface CraftOptions {
  /** ID of the element whose digest fills `@DIGEST@` ('' for the root); default ASSERTION_ID. */
  readonly digestOf?: string;
  readonly digestHash?: string;
  /** PrefixList used for the digest / for SignedInfo. */
  readonly prefixes?: readonly string[];
  readonly signedInfoPrefixes?: readonly string[];
  /** Inclusive c14n (xml-crypto's C14nCanonicalization) instead of exclusive, for both. */
  readonly inclusive?: boolean;
  /** Signs the canonical SignedInfo; default RSA-SHA256 with the IdP key. */
  readonly sign?: (data: Buffer) => Buffer;
}

/**
 * Fills in a template's `@DIGEST@` (exclusive c14n, or inclusive with `inclusive`, of the digested element
 * without the Signature that holds `@SIGNATURE@`, whatever the template's transforms say) and
 * `@SIGNATURE@` (over the same c14n of that Signature's SignedInfo, whatever its CanonicalizationMethod
 * says), both computed by xml-crypto:
 * what a verifier that skipped the broken rule would accept.
 */
function craft(template: string, o: CraftOptions = {}): string {
  let xml = template;
  const pending = (doc: DomDocument) =>
    elementsOf(doc).find((el) => el.localName === 'Signature' && el.textContent!.includes('@SIGNATURE@'));
  if (xml.includes('@DIGEST@')) {
    const doc = parseDom(xml);
    const target =
      o.digestOf === '' ? doc.documentElement : elementsOf(doc).find((el) => idOf(el) === (o.digestOf ?? ASSERTION_ID));
    const canonical = xmlCryptoC14n(target!, { exclude: pending(doc), prefixes: o.prefixes, inclusive: o.inclusive });
    xml = xml.replaceAll(
      '@DIGEST@',
      createHash(o.digestHash ?? 'sha256')
        .update(canonical, 'utf8')
        .digest('base64'),
    );
  }
  if (xml.includes('@SIGNATURE@')) {
    const doc = parseDom(xml);
    const signedInfo = elementsOf(pending(doc)!).find((el) => el.localName === 'SignedInfo')!;
    const data = Buffer.from(
      xmlCryptoC14n(signedInfo, { prefixes: o.signedInfoPrefixes, inclusive: o.inclusive }),
      'utf8',
    );
    const signature = o.sign ? o.sign(data) : cryptoSign('sha256', data, real.privateKey);
    xml = xml.replace('@SIGNATURE@', signature.toString('base64'));
  }
  return xml;
}

interface XmlCryptoOptions {
  readonly method?: string;
  readonly digest?: string;
  /** Signature prefix; '' for a default-namespace Signature. */
  readonly prefix?: string;
  readonly prefixList?: readonly string[];
  readonly canonicalization?: string;
  readonly transforms?: readonly string[];
  readonly signer?: { certificate?: string; privateKey: string };
  /** Put the signer's certificate in KeyInfo. */
  readonly keyInfo?: boolean;
}

/** Signs the (first) Assertion with xml-crypto's SignedXml, the Signature after its Issuer. */
function signWithXmlCrypto(xml: string, o: XmlCryptoOptions = {}): string {
  const target = "//*[local-name(.)='Assertion']";
  const signer = o.signer ?? real;
  const sig = new xmlCrypto.SignedXml({
    privateKey: signer.privateKey,
    ...(o.keyInfo ? { publicCert: signer.certificate } : {}),
    signatureAlgorithm: o.method ?? RSA_SHA256,
    canonicalizationAlgorithm: o.canonicalization ?? EXC_C14N,
    ...(o.prefixList ? { inclusiveNamespacesPrefixList: [...o.prefixList] } : {}),
  });
  Object.assign(sig.SignatureAlgorithms, EXTRA_SIGNATURE_ALGORITHMS);
  Object.assign(sig.HashAlgorithms, EXTRA_HASH_ALGORITHMS);
  sig.addReference({
    xpath: target,
    transforms: [...(o.transforms ?? [ENVELOPED, EXC_C14N])],
    digestAlgorithm: o.digest ?? SHA256,
    ...(o.prefixList ? { inclusiveNamespacesPrefixList: [...o.prefixList] } : {}),
  });
  sig.computeSignature(xml, {
    ...(o.prefix === '' ? {} : { prefix: o.prefix ?? 'ds' }),
    location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return sig.getSignedXml();
}

// --- verdicts ----------------------------------------------------------------------------------------------

/** Which element the relying party would verify and read: the root, or the nth element of that name. */
type Pick = { readonly name: string; readonly nth?: number } | undefined;

interface Walkable {
  readonly nodeType: number;
  readonly localName: string | null;
  readonly firstChild: Walkable | null;
  readonly nextSibling: Walkable | null;
}
/** Elements at and below `from`, in document order (works on both DOMs). */
function elementsOf<T extends Walkable>(from: T): T[] {
  const out: T[] = [];
  const stack: Walkable[] = [from];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === 1) out.push(node as T);
    const children: Walkable[] = [];
    for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}
function picked<T extends Walkable>(root: T, pick: Pick): T {
  if (!pick) return root;
  const found = elementsOf(root).filter((el) => el.localName === pick.name)[pick.nth ?? 0];
  if (!found) throw new Error(`test bug: no ${pick.name} #${pick.nth ?? 0}`);
  return found;
}
const idOf = (el: DomNode) => el.getAttribute?.('ID') ?? null;

/**
 * actbridge's verdict: 'verified', or what was thrown (parse or verification). Every verdict is also
 * taken with the signature value verified on libuv's thread pool (the single process's placement), and
 * must be the same there: same outcome, same error class, message and `altered` (checked after the test).
 */
function fastVerdict(
  xml: string,
  pick: Pick = undefined,
  keys: readonly KeyObject[] = [real.publicKey],
  profile: SignatureProfile = EXCLUSIVE_PROFILE,
): unknown {
  let element: XmlElement;
  try {
    element = picked(parseStrictXml(xml).documentElement, pick);
  } catch (error) {
    return error;
  }
  return verdictOn(element, keys, profile);
}

const poolVerdicts: Array<Promise<void>> = [];
afterEach(async () => {
  await Promise.all(poolVerdicts.splice(0));
});
const described = (verdict: unknown): unknown =>
  verdict instanceof Error
    ? { class: verdict.constructor.name, message: verdict.message, altered: (verdict as XmlSignatureRejected).altered }
    : verdict;

function verdictOn(element: XmlElement, keys: readonly KeyObject[], profile: SignatureProfile): unknown {
  let verdict: unknown;
  try {
    verifyEnvelopedSignature(element, keys, profile);
    verdict = 'verified';
  } catch (error) {
    verdict = error;
  }
  poolVerdicts.push(
    verifyEnvelopedSignatureOn('pool', element, keys, profile).then(
      () => expect(described('verified')).toEqual(described(verdict)),
      (error: unknown) => expect(described(error)).toEqual(described(verdict)),
    ),
  );
  return verdict;
}

/** node-saml's verdict (getVerifiedXml, as saml2-signature.ts calls it) on the same element. */
function nodeSamlVerifies(xml: string, pick: Pick = undefined, certificates = [real.certificate]): boolean {
  try {
    return nodeSaml.getVerifiedXml(xml, picked(parseDom(xml).documentElement, pick), certificates) !== null;
  } catch {
    return false;
  }
}

/** True if some Signature in the document verifies in xml-crypto alone (no check of what it references). */
function someSignatureVerifiesInXmlCrypto(xml: string): boolean {
  const doc = parseDom(xml);
  return elementsOf(doc.documentElement)
    .filter((el) => el.localName === 'Signature' && el.namespaceURI === DSIG)
    .some((el) => {
      const sig = new xmlCrypto.SignedXml({ publicCert: real.certificate });
      try {
        sig.loadSignature(el);
        return sig.checkSignature(xml);
      } catch {
        return false;
      }
    });
}

/** Verified with exclusive c14n only, and with the inclusive opt-in (which accepts a superset). */
function expectVerified(xml: string, pick: Pick = undefined, keys: readonly KeyObject[] = [real.publicKey]): void {
  expect(fastVerdict(xml, pick, keys)).toBe('verified');
  expect(fastVerdict(xml, pick, keys, INCLUSIVE_PROFILE)).toBe('verified');
}

/** Refused with exclusive c14n only, and with the inclusive opt-in. */
function expectRefused(xml: string, pick: Pick = undefined, keys: readonly KeyObject[] = [real.publicKey]): void {
  for (const profile of [EXCLUSIVE_PROFILE, INCLUSIVE_PROFILE]) expectRefusedIn(profile, xml, pick, keys);
}

function expectRefusedIn(
  profile: SignatureProfile,
  xml: string,
  pick: Pick = undefined,
  keys: readonly KeyObject[] = [real.publicKey],
): unknown {
  const verdict = fastVerdict(xml, pick, keys, profile);
  expect(verdict).not.toBe('verified');
  // A refusal, never an unexpected error (the caller turns anything else into a 500).
  const refusal = verdict instanceof XmlSignatureRejected || verdict instanceof XmlRejected;
  expect(refusal ? 'a refusal' : String(verdict)).toBe('a refusal');
  return verdict;
}

// --- string surgery on signed documents --------------------------------------------------------------------
function replaceOnce(xml: string, from: string | RegExp, to: string | ((match: string) => string)): string {
  const out = typeof to === 'string' ? xml.replace(from, to) : xml.replace(from, to);
  if (out === xml) throw new Error(`test bug: ${String(from)} not found`);
  return out;
}
const signatureIn = (xml: string) => /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)![0];
const withoutSignature = (xml: string) => replaceOnce(xml, signatureIn(xml), '');
const assertionIn = (xml: string) => /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
const withId = (xml: string, id: string) => replaceOnce(xml, /ID="[^"]*"/, `ID="${id}"`);
const withNameId = (xml: string, nameId: string) =>
  replaceOnce(xml, />[^<]*<\/saml:NameID>/, `>${nameId}</saml:NameID>`);
const idIn = (xml: string) => /ID="([^"]*)"/.exec(xml)![1]!;
/** Inserts `inner` just before the element's last end tag. */
const appendInto = (xml: string, endTag: string, inner: string) => {
  const at = xml.lastIndexOf(endTag);
  if (at < 0) throw new Error(`test bug: ${endTag} not found`);
  return xml.slice(0, at) + inner + xml.slice(at);
};

// =================================================================================================
describe('verifyEnvelopedSignature: real signatures verify', () => {
  const special = {
    'a&b<c>"d\'e': ['x & y < z > "q" \'s\'', 'tab\there, line\nbreak', 'é 中文 😀', '  spaced  ', ']]>'],
  };

  it.each([
    ['a samlify Assertion', () => idp.signedAssertion()],
    [
      'a samlify Assertion with special characters in the NameID and attributes',
      () => idp.signedAssertion({ nameId: "o'brien+tag&co@example.com", attributes: special }),
    ],
  ])('%s', (_name, build) => {
    const xml = build();
    expectVerified(xml);
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  it('samlify Responses: the signed Assertion, the signed Response, and both', async () => {
    const assertionSigned = await idp.response({ assertion: true, response: false });
    expectVerified(assertionSigned, { name: 'Assertion' });
    const responseSigned = await idp.response({ assertion: false, response: true });
    expectVerified(responseSigned);
    const both = await idp.response({ assertion: true, response: true }, { attributes: special });
    expectVerified(both);
    expectVerified(both, { name: 'Assertion' });
    for (const [xml, pick] of [
      [assertionSigned, { name: 'Assertion' }],
      [responseSigned, undefined],
      [both, undefined],
      [both, { name: 'Assertion' }],
    ] as const) {
      expect(nodeSamlVerifies(xml, pick)).toBe(true);
    }
  });

  // Signed by xml-crypto's SignedXml; `nodeSaml` says whether node-saml can check it (it lacks SHA-384 and ECDSA).
  it.each<[string, () => string, { keys?: () => KeyObject[]; nodeSaml: boolean }]>([
    ['RSA-SHA256, SHA-256 digest', () => signWithXmlCrypto(idp.unsignedAssertion()), { nodeSaml: true }],
    [
      'RSA-SHA512, SHA-512 digest, KeyInfo',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: RSA_SHA512, digest: SHA512, keyInfo: true }),
      { nodeSaml: true },
    ],
    [
      'RSA-SHA256, SHA-512 digest',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { digest: SHA512 }),
      { nodeSaml: true },
    ],
    [
      'RSA-SHA384, SHA-384 digest',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: RSA_SHA384, digest: SHA384 }),
      { nodeSaml: false },
    ],
    [
      'RSA-PSS SHA-256 (sha256-rsa-MGF1, RFC 6931 §2.3.10)',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: RSA_PSS_SHA256 }),
      { nodeSaml: true },
    ],
    [
      'a default-namespace Signature (no ds: prefix)',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { prefix: '' }),
      { nodeSaml: true },
    ],
    [
      'an InclusiveNamespaces PrefixList (xml-crypto writes it into both transforms and the SignedInfo c14n)',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { prefixList: ['xs', 'xsi'] }),
      { nodeSaml: true },
    ],
    [
      'ECDSA P-256 SHA-256',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: ECDSA_SHA256, signer: ec256 }),
      { keys: () => [ec256.publicKey], nodeSaml: false },
    ],
    [
      'ECDSA P-256 SHA-512, SHA-512 digest',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: ECDSA_SHA512, digest: SHA512, signer: ec256 }),
      { keys: () => [ec256.publicKey], nodeSaml: false },
    ],
    [
      'ECDSA P-384 SHA-384, SHA-384 digest',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { method: ECDSA_SHA384, digest: SHA384, signer: ec384 }),
      { keys: () => [ec384.publicKey], nodeSaml: false },
    ],
    [
      "an Assertion inside a Response, using only the Response's namespace declarations",
      () => signWithXmlCrypto(response(assertion({ declare: false }))),
      { nodeSaml: true },
    ],
    [
      'the same with PrefixList "xs" declared on the Response only',
      () => signWithXmlCrypto(response(assertion({ declare: false })), { prefixList: ['xs'] }),
      { nodeSaml: true },
    ],
    [
      'an ADFS-style Assertion in the default namespace',
      () => signWithXmlCrypto(assertion().replace(/saml:/g, '').replace(`xmlns:saml="${SAML}"`, `xmlns="${SAML}"`)),
      { nodeSaml: true },
    ],
    ['a pretty-printed Assertion', () => signWithXmlCrypto(assertion().replace(/></g, '>\n    <')), { nodeSaml: true }],
  ])('xml-crypto: %s', (_name, build, o) => {
    const xml = build();
    const pick = xml.startsWith('<samlp:Response') ? { name: 'Assertion' } : undefined;
    if (o.nodeSaml) expect(nodeSamlVerifies(xml, pick)).toBe(true);
    expectVerified(xml, pick, o.keys?.() ?? [real.publicKey]);
  });

  // Signed by `craft` (xml-crypto's canonicalization, the signature computed here): what other signers write.
  it.each<[string, () => string, { keys?: () => KeyObject[] }]>([
    ['the crafting itself: the standard profile', () => craft(assertion({ signature: signature() })), {}],
    [
      'the ds prefix declared on the Assertion, not on the Signature',
      () =>
        craft(
          assertion({ signature: signature().replace(` xmlns:ds="${DSIG}"`, '') }).replace(
            ' ID=',
            ` xmlns:ds="${DSIG}" ID=`,
          ),
        ),
      {},
    ],
    [
      'a PrefixList on the exclusive c14n transform only (Santuario style)',
      () =>
        craft(
          assertion({
            signature: signature({
              references: [
                reference({ transforms: [transform(ENVELOPED), transform(EXC_C14N, inclusiveNamespaces('xs'))] }),
              ],
            }),
          }),
          { prefixes: ['xs'] },
        ),
      {},
    ],
    [
      'a PrefixList on the SignedInfo CanonicalizationMethod',
      () =>
        craft(assertion({ signature: signature({ c14nInner: inclusiveNamespaces('ds xs') }) }), {
          signedInfoPrefixes: ['ds', 'xs'],
        }),
      {},
    ],
    [
      'ECDSA P-256 SHA-256 (r || s, RFC 4051 §3.3)',
      () =>
        craft(assertion({ signature: signature({ method: ECDSA_SHA256 }) }), {
          sign: (data) => cryptoSign('sha256', data, { key: ec256.privateKey, dsaEncoding: 'ieee-p1363' }),
        }),
      { keys: () => [ec256.publicKey] },
    ],
  ])('crafted: %s', (_name, build, o) => {
    const xml = build();
    expectVerified(xml, undefined, o.keys?.() ?? [real.publicKey]);
  });

  it('the crafting agrees with node-saml on the standard profile', () => {
    expect(nodeSamlVerifies(craft(assertion({ signature: signature() })))).toBe(true);
  });

  it('a DigestValue wrapped over lines with &#13; line ends (Santuario / Shibboleth style)', () => {
    // The digest is computed first, then written wrapped into SignedInfo, which is then signed.
    const digested = craft(assertion({ signature: signature() }));
    const digest = /<ds:DigestValue>([^<]*)</.exec(digested)![1]!;
    const wrapped = `${digest.slice(0, 20)}&#13;\n${digest.slice(20)}`;
    const xml = craft(assertion({ signature: signature({ references: [reference({ digestValue: wrapped })] }) }));
    expectVerified(xml);
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  // Changes that leave the canonical form alone: a relay, a proxy or another serializer may make them.
  it.each<[string, (xml: string) => string]>([
    [
      'attributes of the Assertion reordered',
      (x) => replaceOnce(x, / Version="2.0"/, '').replace('<saml:Assertion ', '<saml:Assertion Version="2.0" '),
    ],
    ['single-quoted attribute values', (x) => replaceOnce(x, /Format="([^"]*)"/, "Format='$1'")],
    [
      'an empty element written with an end tag',
      (x) => replaceOnce(x, /(<saml:SubjectConfirmationData[^>]*)\/>/, '$1></saml:SubjectConfirmationData>'),
    ],
    [
      'whitespace inside tags',
      (x) => replaceOnce(replaceOnce(x, '<saml:Subject>', '<saml:Subject\n >'), '</saml:Subject>', '</saml:Subject  >'),
    ],
    [
      'a superfluous namespace declaration on a signed element',
      (x) => replaceOnce(x, '<saml:Subject>', '<saml:Subject xmlns:unused="urn:unused">'),
    ],
    [
      'the saml namespace redeclared identically on a signed element',
      (x) => replaceOnce(x, '<saml:Subject>', `<saml:Subject xmlns:saml="${SAML}">`),
    ],
    ['the NameID as a CDATA section', (x) => replaceOnce(x, />alice@example.com</, '><![CDATA[alice@example.com]]><')],
    ['characters of the NameID as references', (x) => replaceOnce(x, />alice@/, '>&#x61;lice&#64;')],
    ['an XML declaration in front', (x) => `<?xml version="1.0" encoding="UTF-8"?>\n${x}`],
    ['the KeyInfo removed (it is not signed)', (x) => replaceOnce(x, /<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '')],
    [
      'the SignatureValue wrapped at 64 columns',
      (x) => replaceOnce(x, /<ds:SignatureValue>[^<]*/, (m) => m.replace(/.{64}/g, '$&\n')),
    ],
    [
      'the SignatureValue wrapped with &#13; line ends',
      (x) => replaceOnce(x, /<ds:SignatureValue>[^<]*/, (m) => m.replace(/.{64}/g, '$&&#13;\n')),
    ],
  ])('after %s', (_name, change) => {
    const xml = change(idp.signedAssertion());
    expectVerified(xml);
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  it('after CRLF line endings replaced a pretty-printed document’s LFs (the parser normalizes them)', () => {
    const xml = signWithXmlCrypto(assertion().replace(/></g, '>\n  <')).replace(/\n/g, '\r\n');
    expectVerified(xml);
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  it('with any one of several keys', () => {
    expectVerified(idp.signedAssertion(), undefined, [attacker.publicKey, ec256.publicKey, real.publicKey]);
  });
});

// =================================================================================================
interface Hostile {
  readonly xml: string;
  /** The element the relying party would verify and read (default: the root). */
  readonly pick?: Pick;
  /** The keys the caller passes (default: the IdP's). */
  readonly keys?: readonly KeyObject[];
  /** Why node-saml accepts this one (actbridge is stricter there); absent: node-saml must refuse it too. */
  readonly nodeSamlAccepts?: string;
  /** Some Signature in the document verifies on its own in xml-crypto: only the structure is wrong. */
  readonly live?: boolean;
}

function expectHostileRefused(h: Hostile): void {
  expectRefused(h.xml, h.pick, h.keys);
  // node-saml refuses it too, unless the row says why it accepts it (and then it does).
  expect(nodeSamlVerifies(h.xml, h.pick)).toBe(h.nodeSamlAccepts !== undefined);
  if (h.live) expect(someSignatureVerifiesInXmlCrypto(h.xml)).toBe(true);
}

const ADMIN = 'admin@example.com';

/** A fresh signed Assertion with one edit (replaceOnce's from and to); `more` adds to the Hostile. */
const edited =
  (from: string | RegExp, to: string | ((match: string) => string), more: Omit<Hostile, 'xml'> = {}) =>
  (): Hostile => ({ xml: replaceOnce(idp.signedAssertion(), from, to), ...more });
/** `xml` with `prefix`, declared for `uri` on its Response, bound to another URI there; the Assertion is read. */
const rebound = (prefix: string, uri: string, xml: string): Hostile => ({
  xml: replaceOnce(xml, `xmlns:${prefix}="${uri}"`, `xmlns:${prefix}="urn:evil"`),
  pick: { name: 'Assertion' },
});
/** Another base64 character in place of the last one matched. */
const flipLast = (match: string) => match.slice(0, -1) + (match.endsWith('A') ? 'B' : 'A');

describe('verifyEnvelopedSignature: signed content altered', () => {
  let signedResponse: string;
  beforeAll(async () => {
    signedResponse = await idp.response({ assertion: false, response: true });
  });

  it.each<[string, () => Hostile]>([
    ['NameID changed', () => ({ xml: withNameId(idp.signedAssertion(), ADMIN) })],
    [
      'NameID é precomposed → decomposed (no Unicode normalization in c14n)',
      () => ({ xml: withNameId(idp.signedAssertion({ nameId: 'jos\u00e9@example.com' }), 'jose\u0301@example.com') }),
    ],
    ['an Assertion altered inside a signed Response', () => ({ xml: withNameId(signedResponse, ADMIN) })],
    ['Audience changed', edited('https://sts.example<', 'https://evil.example<')],
    [
      'an attribute value changed (Recipient)',
      edited('Recipient="https://sts.example', 'Recipient="https://evil.example'),
    ],
    ['an attribute added to the Assertion', edited('Version="2.0"', 'Version="2.0" Extra="1"')],
    [
      'an element added (a second AttributeValue)',
      edited(
        '</saml:Attribute>',
        '<saml:AttributeValue xsi:type="xs:string">admins</saml:AttributeValue></saml:Attribute>',
      ),
    ],
    ['Conditions removed', edited(/<saml:Conditions[\s\S]*<\/saml:Conditions>/, '')],
    [
      'whitespace-only text added between two signed elements',
      edited('</saml:Subject><saml:Conditions', '</saml:Subject>\n<saml:Conditions'),
    ],
    ['a space added inside the NameID', edited('alice@example.com<', 'alice@example.com <')],
    ['a CR (as a character reference) added to the NameID', edited('alice@example.com<', 'alice@example.com&#13;<')],
    [
      'the ID changed in the Assertion and in the Reference',
      () => {
        const xml = idp.signedAssertion();
        return { xml: xml.replaceAll(idIn(xml), '_other') };
      },
    ],
    [
      'the saml prefix renamed throughout the Assertion (exclusive c14n keeps prefixes)',
      () => ({ xml: idp.signedAssertion().replace(/saml:/g, 'saml2:').replace('xmlns:saml=', 'xmlns:saml2=') }),
    ],
    [
      'the saml prefix rebound to another URI on a signed descendant',
      edited('<saml:Subject>', '<saml:Subject xmlns:saml="urn:evil">'),
    ],
    [
      'the Response rebinds the prefix an undeclaring Assertion inherits',
      () => rebound('saml', SAML, craft(response(assertion({ declare: false, signature: signature() })))),
    ],
    [
      'the Response rebinds a PrefixList prefix (xs) the Assertion only names in xsi:type',
      () => {
        const transforms = [transform(ENVELOPED), transform(EXC_C14N, inclusiveNamespaces('xs'))];
        const signed = assertion({ declare: false, signature: signature({ references: [reference({ transforms })] }) });
        return rebound('xs', XS, craft(response(signed), { prefixes: ['xs'] }));
      },
    ],
    [
      'DigestValue altered, SignedInfo signed again (only the digest check catches it)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              references: [reference({ digestValue: createHash('sha256').update('x').digest('base64') })],
            }),
          }),
        ),
      }),
    ],
    ['DigestValue altered', edited(/<ds:DigestValue>./, flipLast)],
    ['whitespace added inside SignedInfo', edited('<ds:SignatureMethod', '\n<ds:SignatureMethod')],
    ['an attribute added to SignedInfo', edited('<ds:SignedInfo>', '<ds:SignedInfo Id="si">')],
    ['the Reference URI changed', edited('URI="#', 'URI="#x')],
    ['SignatureValue: another valid base64 value', edited(/<ds:SignatureValue>./, flipLast)],
    ['SignatureValue empty', edited(/<ds:SignatureValue>[^<]*/, '<ds:SignatureValue>')],
    ['SignatureValue not base64', edited(/<ds:SignatureValue>[^<]*/, '<ds:SignatureValue>!!!!')],
    ['SignatureValue truncated', edited(/(<ds:SignatureValue>[^<]{8})[^<]*/, '$1')],
    [
      'SignatureValue longer than the RSA modulus',
      edited(/(?<=<ds:SignatureValue>)[^<]*/, (m) =>
        Buffer.concat([Buffer.from(m, 'base64'), Buffer.alloc(3)]).toString('base64'),
      ),
    ],
    [
      'SignatureValue: the valid value, then a second copy after its padding',
      edited(/(?<=<ds:SignatureValue>)[^<]*/, (m) => m + m, {
        nodeSamlAccepts: "Node's base64 decoder stops at the first padding",
      }),
    ],
    ['SignatureValue missing', edited(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/, '')],
    [
      'SignatureValue: the valid value with a character from outside base64 spliced in',
      edited(/<ds:SignatureValue>[^<]{10}/, '$&*', {
        nodeSamlAccepts: 'Buffer.from(…, "base64") skips characters outside the alphabet',
      }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: signature wrapping (Somorovsky et al., "On Breaking SAML", 2012)', () => {
  let signedResponse: string;
  let responseWithSignedAssertion: string;
  beforeAll(async () => {
    signedResponse = await idp.response({ assertion: false, response: true });
    responseWithSignedAssertion = await idp.response({ assertion: true, response: false });
  });
  /**
   * The signed Assertion of `responseWithSignedAssertion`, with and without its Signature; an evil twin
   * (unsigned, another ID and NameID); and the signed one with its NameID altered, keeping its ID or not.
   */
  const parts = () => {
    const signed = assertionIn(responseWithSignedAssertion);
    const unsigned = withoutSignature(signed);
    const altered = withNameId(signed, ADMIN);
    return {
      signed,
      unsigned,
      evil: withNameId(withId(unsigned, '_evil'), ADMIN),
      altered,
      renamed: withId(altered, '_evil'),
    };
  };
  const inResponse = (content: string) =>
    replaceOnce(responseWithSignedAssertion, assertionIn(responseWithSignedAssertion), content);
  /** The relying party reads the `nth` Assertion of `xml`; `live` as in Hostile. */
  const readingAssertion = (xml: string, live: boolean, nth = 0): Hostile => ({
    xml,
    pick: { name: 'Assertion', nth },
    live,
  });
  /** A signed Response turned into an evil one with the original (unsigned) placed by `wrap`. */
  const evilResponse = (wrap: (evil: string, original: string, signature: string) => string): Hostile => {
    const original = withoutSignature(signedResponse);
    return {
      xml: wrap(withNameId(withId(original, '_evil'), ADMIN), original, signatureIn(signedResponse)),
      live: true,
    };
  };
  /** A bare signed Assertion altered by `alter`, the original (unsigned) inside its saml:Advice. */
  const adviceWrapped = (alter: (signed: string) => string): string => {
    const signed = idp.signedAssertion();
    const advice = `<saml:Advice>${withoutSignature(signed)}</saml:Advice><saml:AuthnStatement`;
    return replaceOnce(alter(signed), '<saml:AuthnStatement', advice);
  };
  const objectOf = (content: string) => `<ds:Object>${content}</ds:Object>`;

  it.each<[string, (p: ReturnType<typeof parts>) => Hostile]>([
    [
      'XSW1: evil Response around the original Signature, the original Response inside the Signature',
      () =>
        evilResponse((evil, original, sig) =>
          replaceOnce(evil, '</samlp:Status>', `</samlp:Status>${appendInto(sig, '</ds:Signature>', original)}`),
        ),
    ],
    [
      'XSW2: evil Response, the original Response before the original (now detached) Signature',
      () =>
        evilResponse((evil, original, sig) => replaceOnce(evil, '</saml:Issuer>', `</saml:Issuer>${original}${sig}`)),
    ],
    ['XSW3: an evil Assertion before the signed one', (p) => readingAssertion(inResponse(p.evil + p.signed), true)],
    [
      'XSW4: the signed Assertion moved inside the evil one',
      (p) => readingAssertion(inResponse(appendInto(p.evil, '</saml:Assertion>', p.signed)), true),
    ],
    [
      'XSW5: the signed Assertion altered in place (same ID), an unsigned copy of the original appended',
      (p) => readingAssertion(appendInto(inResponse(p.altered), '</samlp:Response>', p.unsigned), false),
    ],
    [
      'XSW5 with a new ID on the altered Assertion',
      (p) => readingAssertion(appendInto(inResponse(p.renamed), '</samlp:Response>', p.unsigned), true),
    ],
    [
      'XSW6: the altered Assertion keeps the Signature, the original copied inside that Signature',
      (p) => readingAssertion(inResponse(appendInto(p.renamed, '</ds:Signature>', p.unsigned)), true),
    ],
    [
      'XSW7: the signed Assertion inside samlp:Extensions, an evil unsigned one in its place',
      (p) => {
        const extensions = `</saml:Issuer><samlp:Extensions>${p.signed}</samlp:Extensions>`;
        return readingAssertion(replaceOnce(inResponse(p.evil), '</saml:Issuer>', extensions), true, 1);
      },
    ],
    [
      'XSW8: the original inside a ds:Object of the Signature the altered Assertion keeps',
      (p) => readingAssertion(inResponse(appendInto(p.renamed, '</ds:Signature>', objectOf(p.unsigned))), true),
    ],
    [
      'XSW8 keeping the original ID on the altered Assertion',
      (p) => readingAssertion(inResponse(appendInto(p.altered, '</ds:Signature>', objectOf(p.unsigned))), false),
    ],
    [
      'a bare Assertion: evil root keeping the Signature, the original inside saml:Advice',
      () => ({ xml: adviceWrapped((signed) => withId(withNameId(signed, ADMIN), '_evil')), live: true }),
    ],
    [
      'a bare Assertion: the same with the original ID on the evil root',
      () => ({ xml: adviceWrapped((signed) => withNameId(signed, ADMIN)) }),
    ],
  ])('%s', (_name, build) => {
    const hostile = build(parts());
    expectHostileRefused(hostile);
    expectOnlySignedContentVerifies(hostile.xml);
  });

  /**
   * Whatever element of a wrapped document verifies must be, canonically, one the IdP signed: the
   * original Assertion or Response. (That the caller reads the element it verified is its own job.)
   */
  function expectOnlySignedContentVerifies(xml: string): void {
    const signedForms = [
      canonicalWithoutSignature(parseStrictXml(signedResponse).documentElement),
      canonicalWithoutSignature(
        picked(parseStrictXml(responseWithSignedAssertion).documentElement, { name: 'Assertion' }),
      ),
    ];
    for (const el of elementsOf<XmlElement>(parseStrictXml(xml).documentElement)) {
      if (fastVerdictOn(el) === 'verified') expect(signedForms).toContain(canonicalWithoutSignature(el));
    }
  }
});

function canonicalWithoutSignature(el: XmlElement): string {
  const sig = elementsOf<XmlElement>(el).find((c) => c.parentNode === el && c.localName === 'Signature');
  return exclusiveCanonicalXml(el, sig ? { exclude: sig } : {});
}
function fastVerdictOn(el: XmlElement): unknown {
  return verdictOn(el, [real.publicKey], EXCLUSIVE_PROFILE);
}

describe('verifyEnvelopedSignature: duplicate IDs (xml-crypto refuses any ID, Id or id attribute with the value)', () => {
  let xml: string;
  let id: string;
  beforeAll(async () => {
    xml = await idp.response({ assertion: true, response: false });
    id = idIn(assertionIn(xml));
  });
  const extension = (attribute: string) =>
    replaceOnce(
      xml,
      '</saml:Issuer>',
      `</saml:Issuer><samlp:Extensions><x:Foo xmlns:x="urn:x" ${attribute}="${id}"/></samlp:Extensions>`,
    );
  const pick = { name: 'Assertion' };

  it.each<[string, () => Hostile]>([
    ['the Response carries the Assertion ID', () => ({ xml: withId(xml, id), pick })],
    ['an element outside the Assertion with ID', () => ({ xml: extension('ID'), pick })],
    ['an element outside the Assertion with Id', () => ({ xml: extension('Id'), pick })],
    ['an element outside the Assertion with id', () => ({ xml: extension('id'), pick })],
    ['an element outside the Assertion with a namespaced x:ID', () => ({ xml: extension('x:ID'), pick })],
    [
      'an element in the (unsigned) KeyInfo with ID',
      () => ({ xml: replaceOnce(xml, '<ds:X509Data>', `<ds:KeyName ID="${id}">k</ds:KeyName><ds:X509Data>`), pick }),
    ],
    [
      'a copy of the signed Assertion beside it',
      () => ({ xml: replaceOnce(xml, assertionIn(xml), assertionIn(xml) + assertionIn(xml)), pick }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: Reference', () => {
  it.each<[string, () => Hostile]>([
    [
      'URI to another element (the Subject)',
      () => ({
        xml: craft(
          assertion({ signature: signature({ references: [reference({ uri: '#_subject' })] }) }).replace(
            '<saml:Subject>',
            '<saml:Subject ID="_subject">',
          ),
          { digestOf: '_subject' },
        ),
      }),
    ],
    [
      'an empty URI (the whole document)',
      () => ({
        xml: craft(assertion({ signature: signature({ references: [reference({ uri: '' })] }) }), { digestOf: '' }),
      }),
    ],
    [
      'no URI attribute',
      () => ({
        xml: craft(assertion({ signature: signature({ references: [reference({ uri: null })] }) }), { digestOf: '' }),
      }),
    ],
    [
      'URI "#" and an Assertion without ID',
      () => ({
        xml: craft(assertion({ id: null, signature: signature({ references: [reference({ uri: '#' })] }) }), {
          digestOf: '',
        }),
      }),
    ],
    [
      'URI "#" and an empty ID',
      () => ({
        xml: craft(assertion({ id: '', signature: signature({ references: [reference({ uri: '#' })] }) }), {
          digestOf: '',
        }),
      }),
    ],
    [
      'the ID carried by an Id attribute, not ID',
      () => ({
        xml: craft(
          assertion({ id: null, signature: signature() }).replace(
            '<saml:Assertion ',
            `<saml:Assertion Id="${ASSERTION_ID}" `,
          ),
          { digestOf: '' },
        ),
        nodeSamlAccepts: 'the xpath package matches @ID case-insensitively in xmldom documents',
      }),
    ],
    [
      'an external URI',
      () => ({
        xml: craft(
          assertion({
            signature: signature({ references: [reference({ uri: 'https://idp.example/assertion.xml' })] }),
          }),
        ),
      }),
    ],
    [
      'an XPointer to the ID',
      () => ({
        xml: craft(
          assertion({ signature: signature({ references: [reference({ uri: `#xpointer(id('${ASSERTION_ID}'))` })] }) }),
        ),
      }),
    ],
    [
      'an XPointer to the document',
      () => ({
        xml: craft(assertion({ signature: signature({ references: [reference({ uri: '#xpointer(/)' })] }) }), {
          digestOf: '',
        }),
      }),
    ],
    [
      'the ID without "#"',
      () => ({
        xml: craft(assertion({ signature: signature({ references: [reference({ uri: ASSERTION_ID })] }) })),
        nodeSamlAccepts: 'xml-crypto reads a URI without "#" as an ID (XML-DSig: a relative URI, not same-document)',
      }),
    ],
    [
      'two References to the Assertion',
      () => ({ xml: craft(assertion({ signature: signature({ references: [reference(), reference()] }) })) }),
    ],
    ['no Reference', () => ({ xml: craft(assertion({ signature: signature({ references: [] }) })) })],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: transforms', () => {
  const withTransforms = (transforms: readonly string[] | null) =>
    craft(assertion({ signature: signature({ references: [reference({ transforms })] }) }));

  it.each<[string, () => Hostile]>([
    ['no Transforms element', () => ({ xml: withTransforms(null) })],
    ['an empty Transforms element', () => ({ xml: withTransforms([]) })],
    ['enveloped-signature missing (exclusive c14n only)', () => ({ xml: withTransforms([transform(EXC_C14N)]) })],
    ['exclusive c14n missing (enveloped-signature only)', () => ({ xml: withTransforms([transform(ENVELOPED)]) })],
    [
      'the two in the other order',
      () => ({
        xml: withTransforms([transform(EXC_C14N), transform(ENVELOPED)]),
        nodeSamlAccepts: 'xml-crypto canonicalizes, re-parses, then removes the Signature: the same octets here',
      }),
    ],
    ['exclusive c14n twice', () => ({ xml: withTransforms([...STANDARD_TRANSFORMS, transform(EXC_C14N)]) })],
    [
      'an XPath transform',
      () => ({
        xml: withTransforms([
          transform(ENVELOPED),
          transform(XPATH, '<ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath>'),
          transform(EXC_C14N),
        ]),
      }),
    ],
    [
      'an XSLT transform',
      () => ({ xml: withTransforms([transform(ENVELOPED), transform(XSLT), transform(EXC_C14N)]) }),
    ],
    [
      'an XPath Filter 2.0 transform',
      () => ({ xml: withTransforms([transform(ENVELOPED), transform(XPATH_FILTER2), transform(EXC_C14N)]) }),
    ],
    [
      'a base64 transform',
      () => ({ xml: withTransforms([transform(ENVELOPED), transform(BASE64), transform(EXC_C14N)]) }),
    ],
    [
      'an XPath expression inside the enveloped-signature transform',
      () => ({
        xml: withTransforms([transform(ENVELOPED, '<ds:XPath>/</ds:XPath>'), transform(EXC_C14N)]),
        nodeSamlAccepts: 'xml-crypto ignores transform parameters',
      }),
    ],
    [
      'something other than InclusiveNamespaces inside the exclusive c14n transform',
      () => ({
        xml: withTransforms([transform(ENVELOPED), transform(EXC_C14N, '<ds:XPath>/</ds:XPath>')]),
        nodeSamlAccepts: 'xml-crypto ignores transform parameters',
      }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: algorithms', () => {
  const withDigest = (digest: string, digestHash: string) =>
    craft(assertion({ signature: signature({ references: [reference({ digest })] }) }), { digestHash });
  const withMethod = (method: string, sign: (data: Buffer) => Buffer, methodInner = '') =>
    craft(assertion({ signature: signature({ method, methodInner }) }), { sign });
  const rsa = (hash: string) => (data: Buffer) => cryptoSign(hash, data, real.privateKey);
  /** ECDSA by the P-256 key: r || s as XML-DSig wants it, or the DER encoding it does not. */
  const ecdsa = (hash: string) => (data: Buffer) =>
    cryptoSign(hash, data, { key: ec256.privateKey, dsaEncoding: 'ieee-p1363' });
  const ecdsaDer = (hash: string) => (data: Buffer) => cryptoSign(hash, data, ec256.privateKey);
  const hmacKeyedWith = (hash: string, secret: string | Buffer) => (data: Buffer) =>
    createHmac(hash, secret).update(data).digest();

  it.each<[string, () => Hostile]>([
    [
      'a SHA-1 digest',
      () => ({ xml: withDigest(SHA1, 'sha1'), nodeSamlAccepts: 'xml-crypto still accepts SHA-1', live: true }),
    ],
    ['an MD5 digest', () => ({ xml: withDigest(`${MORE}md5`, 'md5') })],
    ['a SHA-224 digest', () => ({ xml: withDigest(`${MORE}sha224`, 'sha224') })],
    ['an unknown digest', () => ({ xml: withDigest('urn:example:digest', 'sha256') })],
    ['a known algorithm URI with surrounding whitespace', () => ({ xml: withMethod(` ${RSA_SHA256}`, rsa('sha256')) })],
    [
      'RSA-SHA1',
      () => ({
        xml: withMethod(RSA_SHA1, rsa('sha1')),
        nodeSamlAccepts: 'xml-crypto still accepts RSA-SHA1',
        live: true,
      }),
    ],
    ['DSA-SHA1', () => ({ xml: withMethod(DSA_SHA1, rsa('sha1')) })],
    ['ECDSA-SHA1', () => ({ xml: withMethod(ECDSA_SHA1, ecdsa('sha1')), keys: [ec256.publicKey] })],
    [
      'HMAC-SHA1 keyed with the IdP certificate (key confusion)',
      () => ({ xml: withMethod(HMAC_SHA1, hmacKeyedWith('sha1', real.certificate)) }),
    ],
    [
      'HMAC-SHA256 keyed with the IdP public key',
      () => ({
        xml: withMethod(HMAC_SHA256, hmacKeyedWith('sha256', real.publicKey.export({ type: 'spki', format: 'der' }))),
      }),
    ],
    [
      'HMAC-SHA256 keyed with the IdP public key PEM',
      () => ({
        xml: withMethod(
          HMAC_SHA256,
          hmacKeyedWith('sha256', real.publicKey.export({ type: 'spki', format: 'pem' }) as string),
        ),
      }),
    ],
    ['RSA-SHA256 declared, RSA-SHA512 computed', () => ({ xml: withMethod(RSA_SHA256, rsa('sha512')) })],
    [
      'RSA-SHA256 declared, an ECDSA (DER) signature, the EC key given',
      () => ({ xml: withMethod(RSA_SHA256, ecdsaDer('sha256')), keys: [ec256.publicKey] }),
    ],
    ['ECDSA-SHA256 declared, an RSA signature', () => ({ xml: withMethod(ECDSA_SHA256, rsa('sha256')) })],
    [
      'ECDSA-SHA256 with a DER-encoded value (XML-DSig wants r || s)',
      () => ({ xml: withMethod(ECDSA_SHA256, ecdsaDer('sha256')), keys: [ec256.publicKey] }),
    ],
    [
      'ECDSA-SHA256 with r || s of the wrong length for the curve (P-384 key given a P-256 value)',
      () => ({ xml: withMethod(ECDSA_SHA256, ecdsa('sha256')), keys: [ec384.publicKey] }),
    ],
    [
      'ECDSA-SHA256 with a value of odd length',
      () => ({
        xml: withMethod(ECDSA_SHA256, (data) => Buffer.concat([ecdsa('sha256')(data), Buffer.of(0)])),
        keys: [ec256.publicKey],
      }),
    ],
    [
      'an HMACOutputLength parameter on the SignatureMethod (CVE-2009-0217)',
      () => ({
        xml: withMethod(RSA_SHA256, rsa('sha256'), '<ds:HMACOutputLength>0</ds:HMACOutputLength>'),
        nodeSamlAccepts: 'xml-crypto ignores SignatureMethod parameters',
      }),
    ],
    [
      'no SignatureMethod',
      () => ({
        xml: craft(
          assertion({
            signature: signature({ signedInfo: `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>${reference()}` }),
          }),
        ),
      }),
    ],
    [
      'no CanonicalizationMethod',
      () => ({
        xml: craft(
          assertion({
            signature: signature({ signedInfo: `<ds:SignatureMethod Algorithm="${RSA_SHA256}"/>${reference()}` }),
          }),
        ),
      }),
    ],
    [
      'SignedInfo children out of order',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              signedInfo: `<ds:SignatureMethod Algorithm="${RSA_SHA256}"/><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>${reference()}`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto finds the elements wherever they are',
      }),
    ],
    [
      'a foreign element inside SignedInfo',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              signedInfo: `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="${RSA_SHA256}"/>${reference()}<x:Extra xmlns:x="urn:x"/>`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto ignores unknown elements',
      }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: where the Signature is, and what it holds', () => {
  const junkSignature = `<ds:Signature xmlns:ds="${DSIG}"><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>`;

  it.each<[string, () => Hostile]>([
    ['no Signature', () => ({ xml: idp.unsignedAssertion() })],
    [
      'the Signature not a direct child (inside the Subject)',
      () => ({ xml: craft(replaceOnce(assertion(), '<saml:NameID', `${signature()}<saml:NameID`)) }),
    ],
    [
      'a second Signature child after the valid one',
      () => ({ xml: craft(assertion({ signature: signature() + junkSignature })) }),
    ],
    [
      'the valid Signature twice',
      () => {
        const xml = idp.signedAssertion();
        return { xml: replaceOnce(xml, signatureIn(xml), signatureIn(xml) + signatureIn(xml)) };
      },
    ],
    ['a Signature in another namespace', () => ({ xml: idp.signedAssertion().replaceAll(DSIG, `${MORE}`) })],
    [
      'a ds:Object in the Signature (unsigned content riding along)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({ tail: '<ds:Object><x:Claim xmlns:x="urn:x">admin</x:Claim></ds:Object>' }),
          }),
        ),
        nodeSamlAccepts: 'an Object is not covered by the digest; node-saml returns only the signed octets',
      }),
    ],
    [
      'a ds:Object holding a second Signature',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              tail: `<ds:Object>${signature({ signatureValue: '<ds:SignatureValue>AAAA</ds:SignatureValue>' })}</ds:Object>`,
            }),
          }),
        ),
      }),
    ],
    [
      'a comment inside SignedInfo (canonicalization drops it, so the signature still matches)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              signedInfo: `<!-- x --><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="${RSA_SHA256}"/>${reference()}`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto drops comments from SignedInfo',
      }),
    ],
    [
      'a comment splitting the NameID (CVE-2017-11427)',
      () => ({
        xml: replaceOnce(
          idp.signedAssertion({ nameId: 'admin@example.com.evil.example' }),
          'admin@example.com',
          'admin@example.com<!---->',
        ),
        nodeSamlAccepts: 'node-saml returns the canonical octets, without the comment; here the parsed nodes are read',
      }),
    ],
    [
      'a comment between signed elements',
      () => ({
        xml: replaceOnce(idp.signedAssertion(), '<saml:Conditions', '<!-- x --><saml:Conditions'),
        nodeSamlAccepts: 'same-document references are canonicalized without comments',
      }),
    ],
    [
      'a processing instruction inside the Assertion',
      () => ({ xml: replaceOnce(idp.signedAssertion(), '<saml:Conditions', '<?pi x?><saml:Conditions') }),
    ],
    [
      'a DOCTYPE with an internal entity',
      () => ({
        xml: `<!DOCTYPE saml:Assertion [<!ENTITY e "alice@example.com">]>${replaceOnce(idp.signedAssertion(), 'alice@example.com<', '&e;<')}`,
      }),
    ],
    [
      'elements nested 10 000 deep (refused, not a stack overflow)',
      () => ({
        xml: replaceOnce(
          idp.signedAssertion(),
          '>readers<',
          `>readers${'<x>'.repeat(10_000)}${'</x>'.repeat(10_000)}<`,
        ),
      }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

describe('verifyEnvelopedSignature: keys come from the caller only', () => {
  it('refuses the wrong key, no key, and a key of another type', () => {
    const xml = idp.signedAssertion();
    expectRefused(xml, undefined, [attacker.publicKey]);
    expectRefused(xml, undefined, []);
    expectRefused(xml, undefined, [ec256.publicKey]);
  });

  it("ignores KeyInfo: the attacker's certificate there does not make the attacker's signature valid", () => {
    const forged = signWithXmlCrypto(withNameId(idp.unsignedAssertion(), ADMIN), { signer: attacker, keyInfo: true });
    expectHostileRefused({ xml: forged });
    // Only a caller that trusts the attacker's key accepts it.
    expectVerified(forged, undefined, [attacker.publicKey]);
  });

  it("ignores KeyInfo: the attacker's certificate swapped into a real signature changes nothing", () => {
    const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    const xml = replaceOnce(idp.signedAssertion(), body(real.certificate), body(attacker.certificate));
    expectVerified(xml);
    expectRefused(xml, undefined, [attacker.publicKey]);
  });
});

describe('canonicalizations beyond exclusive c14n: accepted only with the inclusive opt-in', () => {
  it.each<[string, () => string]>([
    [
      'inclusive c14n (SignedInfo and transform)',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { canonicalization: C14N, transforms: [ENVELOPED, C14N] }),
    ],
    [
      'inclusive c14n for the transform only',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { transforms: [ENVELOPED, C14N] }),
    ],
    [
      'inclusive c14n for SignedInfo only',
      () => signWithXmlCrypto(idp.unsignedAssertion(), { canonicalization: C14N }),
    ],
    [
      'exclusive c14n with comments',
      () =>
        signWithXmlCrypto(idp.unsignedAssertion(), {
          canonicalization: EXC_C14N_COMMENTS,
          transforms: [ENVELOPED, EXC_C14N_COMMENTS],
        }),
    ],
    [
      'inclusive c14n with comments',
      () =>
        signWithXmlCrypto(idp.unsignedAssertion(), {
          canonicalization: C14N_COMMENTS,
          transforms: [ENVELOPED, C14N_COMMENTS],
        }),
    ],
    [
      'inclusive c14n of an Assertion inside a Response (the Response’s namespaces are in scope)',
      () =>
        signWithXmlCrypto(response(assertion({ declare: false })), {
          canonicalization: C14N,
          transforms: [ENVELOPED, C14N],
        }),
    ],
    [
      'inclusive c14n, pretty-printed, a default-namespace Signature',
      () =>
        signWithXmlCrypto(idp.unsignedAssertion().replace(/></g, '>\n  <'), {
          canonicalization: C14N,
          transforms: [ENVELOPED, C14N],
          prefix: '',
        }),
    ],
  ])('%s: node-saml verifies, the default refuses, the opt-in verifies', (_name, build) => {
    const xml = build();
    const pick = xml.startsWith('<samlp:Response') ? { name: 'Assertion' } : undefined;
    expect(nodeSamlVerifies(xml, pick)).toBe(true);
    const refusal = expectRefusedIn(EXCLUSIVE_PROFILE, xml, pick) as Error;
    expect(refusal.message).toMatch(
      /is accepted only from an IdP whose trust anchor sets saml.canonicalization: inclusive$/,
    );
    expect(fastVerdict(xml, pick, [real.publicKey], INCLUSIVE_PROFILE)).toBe('verified');
    // Forged content is caught the same way under the opt-in.
    const forged = withNameId(xml, ADMIN);
    expectRefusedIn(INCLUSIVE_PROFILE, forged, pick);
    expect(nodeSamlVerifies(forged, pick)).toBe(false);
  });

  it('extra transforms are refused under either profile', () => {
    const xml = craft(
      assertion({
        signature: signature({
          references: [
            reference({
              transforms: [transform(ENVELOPED), transform(XPATH, '<ds:XPath>1</ds:XPath>'), transform(EXC_C14N)],
            }),
          ],
        }),
      }),
    );
    expectRefused(xml);
    expect(nodeSamlVerifies(xml)).toBe(false);
  });
});

// The opt-in widens the canonicalization, never the structure: each row is signed with inclusive c14n
// (SignedInfo and Reference) and breaks one structural rule; it is refused with and without the opt-in.
describe('the inclusive opt-in keeps the structural profile', () => {
  const inclusiveSignature = (t: SignatureTemplate = {}) =>
    signature({
      c14n: C14N,
      references: [reference({ transforms: [transform(ENVELOPED), transform(C14N)] })],
      ...t,
    });
  const signedInclusive = () => craft(assertion({ signature: inclusiveSignature() }), { inclusive: true });

  it('the crafted inclusive signature itself verifies with the opt-in, and in node-saml', () => {
    const xml = signedInclusive();
    expect(fastVerdict(xml, undefined, [real.publicKey], INCLUSIVE_PROFILE)).toBe('verified');
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  it.each<[string, () => Hostile]>([
    [
      'a ds:Object after the SignatureValue',
      () => ({
        xml: replaceOnce(signedInclusive(), '</ds:SignatureValue>', '</ds:SignatureValue><ds:Object>x</ds:Object>'),
        nodeSamlAccepts: 'an Object is not covered by the digest; node-saml returns only the signed octets',
      }),
    ],
    [
      'two KeyInfo elements',
      () => ({
        xml: replaceOnce(
          signedInclusive(),
          '</ds:SignatureValue>',
          '</ds:SignatureValue><ds:KeyInfo><ds:KeyName>a</ds:KeyName></ds:KeyInfo><ds:KeyInfo><ds:KeyName>b</ds:KeyName></ds:KeyInfo>',
        ),
        nodeSamlAccepts: 'xml-crypto reads no key from KeyInfo when given the certificate',
      }),
    ],
    [
      'KeyInfo before SignedInfo',
      () => ({
        xml: replaceOnce(
          signedInclusive(),
          '<ds:SignedInfo>',
          '<ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo><ds:SignedInfo>',
        ),
        nodeSamlAccepts: 'xml-crypto finds SignedInfo wherever it is',
      }),
    ],
    [
      'a bare-ID Reference (URI without #)',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              references: [reference({ uri: ASSERTION_ID, transforms: [transform(ENVELOPED), transform(C14N)] })],
            }),
          }),
          { inclusive: true },
        ),
        nodeSamlAccepts: 'xml-crypto takes a URI without # as a bare ID',
      }),
    ],
    [
      'the transforms in the other order',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              references: [reference({ transforms: [transform(C14N), transform(ENVELOPED)] })],
            }),
          }),
          { inclusive: true },
        ),
        nodeSamlAccepts: 'xml-crypto canonicalizes, re-parses, then removes the Signature: the same octets here',
      }),
    ],
    [
      'a foreign element inside SignedInfo',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              signedInfo: `<ds:CanonicalizationMethod Algorithm="${C14N}"/><ds:SignatureMethod Algorithm="${RSA_SHA256}"/>${reference({ transforms: [transform(ENVELOPED), transform(C14N)] })}<x:Extra xmlns:x="urn:x"/>`,
            }),
          }),
          { inclusive: true },
        ),
        nodeSamlAccepts: 'xml-crypto ignores unknown elements',
      }),
    ],
    [
      'an InclusiveNamespaces PrefixList on inclusive c14n (a parameter it does not take)',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              references: [
                reference({ transforms: [transform(ENVELOPED), transform(C14N, inclusiveNamespaces('xs'))] }),
              ],
            }),
          }),
          { inclusive: true },
        ),
        nodeSamlAccepts: 'xml-crypto ignores transform parameters',
      }),
    ],
    [
      'two References',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              references: [
                reference({ transforms: [transform(ENVELOPED), transform(C14N)] }),
                reference({ transforms: [transform(ENVELOPED), transform(C14N)] }),
              ],
            }),
          }),
          { inclusive: true },
        ),
      }),
    ],
    [
      'a Reference to another element',
      () => ({
        xml: craft(
          assertion({
            signature: inclusiveSignature({
              references: [reference({ uri: '#_subject', transforms: [transform(ENVELOPED), transform(C14N)] })],
            }),
          }).replace('<saml:Subject>', '<saml:Subject ID="_subject">'),
          { inclusive: true, digestOf: '_subject' },
        ),
      }),
    ],
    [
      'a second Signature child',
      () => ({
        xml: replaceOnce(
          signedInclusive(),
          '</ds:Signature>',
          `</ds:Signature><ds:Signature xmlns:ds="${DSIG}"><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>`,
        ),
      }),
    ],
    [
      'an xml:lang on the Response around the Assertion (C14N 1.0 would import it; refused, not guessed)',
      () => ({
        xml: craft(
          response(assertion({ declare: false, signature: inclusiveSignature() })).replace(
            '<samlp:Response ',
            '<samlp:Response xml:lang="en" ',
          ),
          { inclusive: true },
        ),
        pick: { name: 'Assertion' },
        nodeSamlAccepts: 'xml-crypto does not import inherited xml: attributes, and signs and checks the same octets',
      }),
    ],
  ])('%s', (_name, build) => expectHostileRefused(build()));
});

// KeyInfo is unsigned: nothing in it may change how a signature is verified. A KeyName whose Algorithm
// names inclusive c14n must leave the verdict as it is without it, in either profile.
describe('the canonicalization is read from SignedInfo only, never from KeyInfo', () => {
  const KEY_NAME = `<ds:KeyName Algorithm="${C14N}">k</ds:KeyName>`;
  const withKeyName = (xml: string) => replaceOnce(xml, '<ds:KeyInfo>', `<ds:KeyInfo>${KEY_NAME}`);

  it('a genuine assertion with that KeyName verifies as it did without it, in either profile', () => {
    const xml = withKeyName(idp.signedAssertion());
    expectVerified(xml);
    expect(nodeSamlVerifies(xml)).toBe(true);
  });

  it.each<[string, () => Hostile]>([
    ['and a forged NameID', () => ({ xml: withNameId(withKeyName(idp.signedAssertion()), ADMIN) })],
    [
      'and a ds:Object',
      () => ({
        xml: replaceOnce(
          withKeyName(idp.signedAssertion()),
          '</ds:KeyInfo>',
          '</ds:KeyInfo><ds:Object><x:Claim xmlns:x="urn:x">admin</x:Claim></ds:Object>',
        ),
        nodeSamlAccepts: 'an Object is not covered by the digest; node-saml returns only the signed octets',
      }),
    ],
    [
      'and a second KeyInfo',
      () => ({
        xml: replaceOnce(
          withKeyName(idp.signedAssertion()),
          '</ds:KeyInfo>',
          `</ds:KeyInfo><ds:KeyInfo>${KEY_NAME}</ds:KeyInfo>`,
        ),
        nodeSamlAccepts: 'xml-crypto reads no key from KeyInfo when given the certificate',
      }),
    ],
    [
      'and the KeyInfo moved first',
      () => {
        const xml = withKeyName(idp.signedAssertion());
        const keyInfo = /<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/.exec(xml)![0];
        return {
          xml: replaceOnce(replaceOnce(xml, keyInfo, ''), '<ds:SignedInfo>', `${keyInfo}<ds:SignedInfo>`),
          nodeSamlAccepts: 'xml-crypto finds SignedInfo wherever it is',
        };
      },
    ],
    [
      'and a bare-ID Reference (signed for real)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              references: [reference({ uri: ASSERTION_ID })],
              tail: `<ds:KeyInfo>${KEY_NAME}</ds:KeyInfo>`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto takes a URI without # as a bare ID',
      }),
    ],
    [
      'and the transforms in the other order (signed for real)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              references: [reference({ transforms: [transform(EXC_C14N), transform(ENVELOPED)] })],
              tail: `<ds:KeyInfo>${KEY_NAME}</ds:KeyInfo>`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto canonicalizes, re-parses, then removes the Signature: the same octets here',
      }),
    ],
    [
      'and a foreign element in SignedInfo (signed for real)',
      () => ({
        xml: craft(
          assertion({
            signature: signature({
              signedInfo: `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="${RSA_SHA256}"/>${reference()}<x:Extra xmlns:x="urn:x"/>`,
              tail: `<ds:KeyInfo>${KEY_NAME}</ds:KeyInfo>`,
            }),
          }),
        ),
        nodeSamlAccepts: 'xml-crypto ignores unknown elements',
      }),
    ],
  ])('a KeyName naming inclusive c14n, %s: refused', (_name, build) => expectHostileRefused(build()));
});
