import { beforeAll, describe, expect, it } from '@jest/globals';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { throwawayCertificate } from '../../test/support/saml-idp.js';
import { readAssertion, SamlRejected } from './saml2-assertion.js';
// The verifier under comparison, as one namespace: its profiles, its verdict and its refusal.
import * as enveloped from './enveloped-signature.js';
import { NS, parseStrictXml, XmlRejected, type XmlElement } from './saml-xml.js';
import { DSIG, nodeSaml, parseDom, SAMLP, xmlCrypto, XS, XSI, type DomNode } from '../../test/support/xml-dom.js';

/**
 * Differential test: generated assertions (seeded, so a failure reproduces) — assertion prefixes
 * `saml`, `saml2`, `a` or the default namespace, namespace declarations on the Assertion, on a
 * Response around it or on the elements that use them, pretty-printed or compact with LF or CRLF,
 * attributes in any order and either quote, values with markup characters, carriage returns, tabs and
 * non-ASCII, a `ds` or default-namespace Signature, exclusive or inclusive c14n (with or without
 * comments) chosen separately for SignedInfo and the Reference, InclusiveNamespaces prefix lists —
 * signed by xml-crypto, then left alone, altered, re-signed by another key, or rewritten without
 * changing the canonical form. actbridge (with the inclusive opt-in) and node-saml's getVerifiedXml
 * (xml-crypto, the verifier actbridge replaced) must give the same verdict, and, when both verify, the
 * same NameID and attribute values: actbridge's read from its verified nodes, node-saml's from the
 * canonical octets it returns. Without the opt-in actbridge gives the same verdict for exclusive c14n
 * and refuses everything else.
 *
 * Where actbridge is stricter by design, the generator says so rather than comparing: a comment
 * anywhere in the document is refused (README, SAML 2.0 step 1). Not generated: documents with two
 * signatures, for which xml-crypto canonicalizes an inclusive-c14n SignedInfo with the namespaces in
 * scope at the document's *first* SignedInfo (signed-xml.js getCanonSignedInfoXml), not its own.
 */

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const CANONICALIZATIONS = [EXC, `${EXC}WithComments`, C14N, `${C14N}#WithComments`] as const;
const CASES = 240;

// --- a small seeded generator ------------------------------------------------------------------------------
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (random: Random, p: number): boolean => random() < p;
function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Text as written in the document (escaped), from pieces that test escaping and normalisation. */
function textValue(random: Random): string {
  const pieces = ['alice', 'bob', '@corp.example', '.', '-', '&amp;', '&lt;', '&gt;', '&#13;', '&#10;', '\t', '"', "'"];
  const more = ['é', '中文', '😀', ' ', '&#xD;', '&#x9;', '&#38;', ']]&gt;'];
  let out = pick(random, ['alice', 'svc', 'user']);
  for (let n = Math.floor(random() * 5); n > 0; n--) out += pick(random, chance(random, 0.7) ? pieces : more);
  return out;
}

interface Generated {
  readonly xml: string;
  readonly description: string;
  readonly signedInfoC14n: string;
  readonly referenceC14n: string;
  readonly mutation: Mutation;
}
type Mutation = 'none' | 'nameid' | 'attribute' | 'other-key' | 'quotes' | 'tag-whitespace' | 'comment';

interface Signer {
  readonly certificate: string;
  readonly privateKey: string;
}

function generate(seed: number, signer: Signer, attacker: Signer): Generated {
  const random = mulberry32(seed);
  const prefix = pick(random, ['saml', 'saml2', 'a', '']);
  const q = (name: string) => (prefix ? `${prefix}:${name}` : name);
  const samlNs = prefix ? `xmlns:${prefix}="${NS.assertion}"` : `xmlns="${NS.assertion}"`;
  const wrapped = chance(random, 0.4);
  const crlf = chance(random, 0.3);
  const pretty = chance(random, 0.5);
  const ws = (depth: number) => (pretty ? `${crlf ? '\r\n' : '\n'}${'  '.repeat(depth)}` : '');
  const quote = (name: string, value: string) =>
    chance(random, 0.3) ? `${name}='${value.replace(/'/g, '&apos;')}'` : `${name}="${value.replace(/"/g, '&quot;')}"`;

  // Where xs/xsi are declared: on the Assertion, on the Response, or on each element using them.
  const typesOn = pick(random, wrapped ? ['assertion', 'response', 'element'] : ['assertion', 'element']);
  const typesDeclaration = `xmlns:xs="${XS}" xmlns:xsi="${XSI}"`;
  const samlOnResponse = wrapped && chance(random, 0.5);
  const id = `_${Math.floor(random() * 1e12).toString(36)}`;
  const assertionAttributes = shuffle(random, [
    quote('ID', id),
    'Version="2.0"',
    quote('IssueInstant', '2026-11-23T12:00:00Z'),
    ...(samlOnResponse ? [] : [samlNs]),
    ...(typesOn === 'assertion' ? [typesDeclaration] : []),
    ...(chance(random, 0.2) ? ['xmlns:unused="urn:unused"'] : []),
  ]);
  const nameId = textValue(random);
  const attributes = Array.from({ length: Math.floor(random() * 4) }, (_, i) => ({
    name: `urn:attribute:${i}:${Math.floor(random() * 1000)}`,
    values: Array.from({ length: 1 + Math.floor(random() * 3) }, () => textValue(random)),
  }));
  const typed = (value: string, depth: number) =>
    `${ws(depth)}<${q('AttributeValue')}${typesOn === 'element' ? ` ${typesDeclaration}` : ''} xsi:type="xs:string">${value}</${q('AttributeValue')}>`;
  const subjectTag = chance(random, 0.2) ? `<${q('Subject')} xmlns:extra="urn:extra">` : `<${q('Subject')}>`;
  const assertion =
    `<${q('Assertion')} ${assertionAttributes.join(' ')}>` +
    `${ws(1)}<${q('Issuer')}>https://idp.example/saml</${q('Issuer')}>` +
    `${ws(1)}${subjectTag}${ws(2)}<${q('NameID')} ${quote('Format', 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified')}>${nameId}</${q('NameID')}>${ws(1)}</${q('Subject')}>` +
    `${ws(1)}<${q('Conditions')}><${q('AudienceRestriction')}><${q('Audience')}>https://sts.example</${q('Audience')}></${q('AudienceRestriction')}></${q('Conditions')}>` +
    (attributes.length === 0
      ? ''
      : `${ws(1)}<${q('AttributeStatement')}>${attributes
          .map(
            (a) =>
              `${ws(2)}<${q('Attribute')} ${quote('Name', a.name)}>${a.values.map((v) => typed(v, 3)).join('')}${ws(2)}</${q('Attribute')}>`,
          )
          .join('')}${ws(1)}</${q('AttributeStatement')}>`) +
    `${ws(0)}</${q('Assertion')}>`;
  const document = wrapped
    ? `<samlp:Response xmlns:samlp="${SAMLP}"${samlOnResponse ? ` ${samlNs}` : ''}${typesOn === 'response' ? ` ${typesDeclaration}` : ''} ID="_response" Version="2.0" IssueInstant="2026-11-23T12:00:00Z">` +
      `${ws(1)}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${ws(1)}${assertion}${ws(0)}</samlp:Response>`
    : assertion;

  const signedInfoC14n = pick(random, CANONICALIZATIONS);
  const referenceC14n = pick(random, CANONICALIZATIONS);
  // xml-crypto writes a reference's PrefixList into every Transform: only for an exclusive one.
  const prefixList =
    referenceC14n.startsWith(EXC) && signedInfoC14n.startsWith(EXC) && chance(random, 0.3) ? ['xs', 'xsi'] : [];
  const signaturePrefix = chance(random, 0.8) ? 'ds' : '';
  const mutation = pick<Mutation>(random, [
    'none',
    'none',
    'none',
    'nameid',
    'attribute',
    'other-key',
    'quotes',
    'tag-whitespace',
    'comment',
  ]);
  const key = mutation === 'other-key' ? attacker : signer;
  const signature = new xmlCrypto.SignedXml({
    privateKey: key.privateKey,
    ...(chance(random, 0.7) ? { publicCert: key.certificate } : {}),
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: signedInfoC14n,
    ...(prefixList.length > 0 ? { inclusiveNamespacesPrefixList: prefixList } : {}),
  });
  const target = "//*[local-name(.)='Assertion']";
  signature.addReference({
    xpath: target,
    transforms: [`${DSIG}enveloped-signature`, referenceC14n],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    ...(prefixList.length > 0 ? { inclusiveNamespacesPrefixList: prefixList } : {}),
  });
  signature.computeSignature(document, {
    ...(signaturePrefix ? { prefix: signaturePrefix } : {}),
    location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  const issuerEnd = `</${q('Issuer')}>`;
  const at = document.indexOf(issuerEnd, document.indexOf(`<${q('Assertion')}`)) + issuerEnd.length;
  const signed = document.slice(0, at) + signature.getSignatureXml() + document.slice(at);

  const nameIdEnd = `</${q('NameID')}>`;
  const mutated = ((): string => {
    switch (mutation) {
      case 'nameid':
        return signed.replace(nameIdEnd, `x${nameIdEnd}`);
      case 'attribute':
        return attributes.length > 0
          ? signed.replace(`</${q('AttributeValue')}>`, `y</${q('AttributeValue')}>`)
          : signed.replace(nameIdEnd, `y${nameIdEnd}`);
      case 'quotes':
        return signed.replace(/ ID=("|')([^"']*)\1/, (_m, _q, value: string) => ` ID='${value}'`);
      case 'tag-whitespace':
        return signed.replace(subjectTag, `${subjectTag.slice(0, -1)}\n  >`);
      case 'comment':
        return signed.replace(nameIdEnd, `<!--x-->${nameIdEnd}`);
      default:
        return signed;
    }
  })();
  const description =
    `seed ${seed}: prefix ${prefix || '(default)'}, ${wrapped ? 'in a Response' : 'bare'}, xs/xsi on ${typesOn}, ` +
    `${pretty ? (crlf ? 'CRLF-pretty' : 'pretty') : 'compact'}, SignedInfo ${short(signedInfoC14n)}, ` +
    `Reference ${short(referenceC14n)}${prefixList.length > 0 ? ' + PrefixList' : ''}, ` +
    `Signature ${signaturePrefix || '(default ns)'}, ${mutation}`;
  return { xml: mutated, description, signedInfoC14n, referenceC14n, mutation };
}

const short = (algorithm: string) =>
  `${algorithm.startsWith(EXC) ? 'exc' : 'inc'}${algorithm.endsWith('WithComments') ? '+comments' : ''}`;

// --- the two verdicts ----------------------------------------------------------------------------------------
interface Read {
  readonly nameId: string;
  readonly attributes: Record<string, readonly string[]>;
}
type Verdict = { readonly verified: true; readonly read: Read } | { readonly verified: false; readonly why: string };

function assertionIn(root: XmlElement): XmlElement {
  if (root.localName === 'Assertion') return root;
  return root.getElementsByTagNameNS(NS.assertion, 'Assertion')[0]!;
}

function actbridge(xml: string, key: KeyObject, profile: enveloped.SignatureProfile): Verdict {
  try {
    const doc = parseStrictXml(xml);
    const assertion = assertionIn(doc.documentElement);
    enveloped.verifyEnvelopedSignature(assertion, [key], profile);
    const facts = readAssertion(assertion);
    return { verified: true, read: { nameId: facts.nameId.value, attributes: { ...facts.attributes } } };
  } catch (error) {
    if (
      error instanceof enveloped.XmlSignatureRejected ||
      error instanceof XmlRejected ||
      error instanceof SamlRejected
    ) {
      return { verified: false, why: error.message };
    }
    throw error;
  }
}

function domElements(node: DomNode, localName: string, out: DomNode[] = []): DomNode[] {
  for (let i = 0; i < node.childNodes.length; i++) {
    const child = node.childNodes[i]!;
    if (child.nodeType !== 1) continue;
    if (child.localName === localName && child.namespaceURI === NS.assertion) out.push(child);
    domElements(child, localName, out);
  }
  return out;
}

/** node-saml's getVerifiedXml on the Assertion; what it returns (the signed octets) read back by xmldom. */
function xmlCryptoVerdict(xml: string, certificate: string): Verdict {
  let verified: string | null;
  try {
    const doc = parseDom(xml, 'defaults');
    const root = doc.documentElement!;
    const assertion = root.localName === 'Assertion' ? root : domElements(root, 'Assertion')[0]!;
    verified = nodeSaml.getVerifiedXml(xml, assertion, [certificate]);
  } catch (error) {
    return { verified: false, why: (error as Error).message };
  }
  if (verified === null) return { verified: false, why: 'not verified' };
  const signed = parseDom(verified, 'defaults').documentElement!;
  const attributes: Record<string, string[]> = {};
  for (const attribute of domElements(signed, 'Attribute')) {
    const values = domElements(attribute, 'AttributeValue').map((v) => v.textContent ?? '');
    (attributes[attribute.getAttribute!('Name')!] ??= []).push(...values);
  }
  return { verified: true, read: { nameId: domElements(signed, 'NameID')[0]!.textContent ?? '', attributes } };
}

// --- the test --------------------------------------------------------------------------------------------------
let idp: Signer & { key: KeyObject };
let attacker: Signer;

beforeAll(async () => {
  const [a, b] = await Promise.all([throwawayCertificate('idp.example'), throwawayCertificate('attacker.example')]);
  idp = { ...a, key: createPublicKey(a.certificate) };
  attacker = b;
});

describe('differential: actbridge against xml-crypto (node-saml) on generated signed assertions', () => {
  const seeds = Array.from({ length: CASES }, (_, i) => 1000 + i);
  const tally = { verified: 0, refused: 0, stricter: 0, inclusive: 0 };

  it.each(seeds)('seed %i', (seed) => {
    const c = generate(seed, idp, attacker);
    const ours = actbridge(c.xml, idp.key, enveloped.INCLUSIVE_PROFILE);
    const theirs = xmlCryptoVerdict(c.xml, idp.certificate);
    if (c.mutation === 'comment') {
      // Stricter by design: a comment anywhere is refused (it could split signed text unnoticed).
      expect({ case: c.description, verdict: ours }).toMatchObject({
        verdict: { verified: false, why: 'signed content must not contain XML comments' },
      });
      tally.stricter++;
      return;
    }
    expect({ case: c.description, verified: ours.verified }).toEqual({
      case: c.description,
      verified: theirs.verified,
    });
    // Both verified: the same values, actbridge's from its nodes, node-saml's from the signed octets.
    if (ours.verified && theirs.verified) {
      expect({ case: c.description, read: ours.read }).toEqual({ case: c.description, read: theirs.read });
    }
    expect(ours.verified).toBe(['none', 'quotes', 'tag-whitespace'].includes(c.mutation));

    // Without the opt-in: the same verdict for exclusive c14n, a refusal naming the opt-in otherwise.
    const exclusiveOnly = c.signedInfoC14n === EXC && c.referenceC14n === EXC;
    const strict = actbridge(c.xml, idp.key, enveloped.EXCLUSIVE_PROFILE);
    if (exclusiveOnly) expect(strict).toEqual(ours);
    else {
      expect(strict.verified).toBe(false);
      if (ours.verified) expect((strict as { why: string }).why).toMatch(/saml\.canonicalization: inclusive$/);
    }
    tally[ours.verified ? 'verified' : 'refused']++;
    if (!exclusiveOnly) tally.inclusive++;
  });

  it('covered both verdicts, both canonicalizations and the stricter cases', () => {
    // Guards the generator: a change that made every case alike would pass the rows above vacuously.
    expect(tally.verified).toBeGreaterThan(CASES / 4);
    expect(tally.refused).toBeGreaterThan(CASES / 8);
    expect(tally.inclusive).toBeGreaterThan(CASES / 2);
    expect(tally.stricter).toBeGreaterThan(0);
  });
});
