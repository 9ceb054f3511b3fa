import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CanonicalizationRefused, EXCLUSIVE_C14N, exclusiveCanonicalXml } from './exclusive-c14n.js';
import { INCLUSIVE_C14N, inclusiveCanonicalXml } from './inclusive-c14n.js';
import { children, ELEMENT_NODE, NS, type XmlElement, type XmlNode } from './saml-xml.js';
import { signatureValueVerifies, signatureValueVerifiesHere, type SignatureValueCheck } from './signature-value.js';
import type { CryptoThread } from '../jose/jws-algorithms.js';

/**
 * Verification of the one XML-DSig profile SAML IdPs use (SAML Core §5.4): an enveloped signature, a
 * direct child of the signed element, with one Reference to that element's ID, transforms
 * enveloped-signature + one canonicalization, SHA-2 digests, RSA (PKCS#1 v1.5 or PSS) or ECDSA over
 * SHA-2. Anything else in that shape is refused, never interpreted: one Reference, no XPath or other
 * transforms, no Object, no KeyInfo trust (keys come only from the caller, i.e. the trust anchor).
 *
 * The canonicalization is exclusive c14n; a caller may also accept inclusive c14n 1.0 and the "with
 * comments" forms (`SignatureProfile`), under the same structure. Which one applies is read from
 * SignedInfo's CanonicalizationMethod and the Reference's Transform, the signed algorithm elements
 * only: nothing unsigned (KeyInfo) is ever looked at, so no input picks another verifier.
 *
 * Why not xml-crypto: node-saml's path through it parses the document several times and locates the
 * reference with an XPath engine; it costs some 2.5 ms per assertion, 15 × a whole JWT exchange. This
 * works on the one strict parse the caller already made, so the nodes verified are the nodes the
 * caller then reads (a carriage return in signed text is read as signed, not through a
 * re-serialisation). `enveloped-signature.spec.ts` checks every verdict against xml-crypto's on real
 * and hostile signatures, `signature-differential.spec.ts` on generated ones.
 */
export class XmlSignatureRejected extends Error {
  override readonly name = 'XmlSignatureRejected';
  /**
   * @param altered true when the signature is well-formed and in profile but does not cover this
   * content with the given keys (digest or signature mismatch, a Reference to another element, a
   * duplicated ID): the caller answers "invalid signature" without saying which.
   */
  constructor(
    message: string,
    readonly altered = false,
  ) {
    super(message);
  }
}

const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const INCLUSIVE_NAMESPACES = EXCLUSIVE_C14N; // the ec:InclusiveNamespaces element's namespace

/**
 * The canonicalizations of XML-DSig 1.0 (§6.5). A "with comments" form is the same octets here: a
 * document holding a comment is refused before verification (saml2-assertion.ts), and so by the
 * canonicalizers.
 */
const CANONICALIZATIONS: ReadonlyMap<string, { readonly exclusive: boolean }> = new Map([
  [EXCLUSIVE_C14N, { exclusive: true }],
  ['http://www.w3.org/2001/10/xml-exc-c14n#WithComments', { exclusive: true }],
  [INCLUSIVE_C14N, { exclusive: false }],
  [`${INCLUSIVE_C14N}#WithComments`, { exclusive: false }],
]);

/** What a caller accepts beyond the structure, which is fixed. */
export interface SignatureProfile {
  /** Canonicalization algorithms accepted for SignedInfo and for the Reference, independently. */
  readonly canonicalizations: ReadonlySet<string>;
}
/** The default: exclusive c14n without comments, what SAML IdPs emit. */
export const EXCLUSIVE_PROFILE: SignatureProfile = { canonicalizations: new Set([EXCLUSIVE_C14N]) };
/** A trust anchor's opt-in (`saml.canonicalization: inclusive`): every canonicalization of XML-DSig 1.0. */
export const INCLUSIVE_PROFILE: SignatureProfile = { canonicalizations: new Set(CANONICALIZATIONS.keys()) };

/** One canonicalization step as the signature names it. */
interface Canonicalization {
  readonly exclusive: boolean;
  /** The InclusiveNamespaces PrefixList (exclusive c14n only). */
  readonly prefixes: readonly string[];
}

interface SignatureMethod {
  readonly hash: string;
  readonly keyType: 'rsa' | 'ec';
  /** RSASSA-PSS with MGF1 of the same hash and a salt as long as the digest (RFC 6931 §2.3.10). */
  readonly pss?: true;
}
const SIGNATURE_METHODS: ReadonlyMap<string, SignatureMethod> = new Map<string, SignatureMethod>([
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', { hash: 'sha256', keyType: 'rsa' }],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', { hash: 'sha384', keyType: 'rsa' }],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', { hash: 'sha512', keyType: 'rsa' }],
  ['http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1', { hash: 'sha256', keyType: 'rsa', pss: true }],
  ['http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1', { hash: 'sha384', keyType: 'rsa', pss: true }],
  ['http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1', { hash: 'sha512', keyType: 'rsa', pss: true }],
  ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', { hash: 'sha256', keyType: 'ec' }],
  ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384', { hash: 'sha384', keyType: 'ec' }],
  ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512', { hash: 'sha512', keyType: 'ec' }],
]);
const DIGEST_METHODS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2001/04/xmlenc#sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmlenc#sha512', 'sha512'],
]);
/** Attribute names xml-crypto treats as IDs; a referenced ID must be carried by one element only. */
const ID_ATTRIBUTES = new Set(['ID', 'Id', 'id']);

/** The signature parts, read strictly from the Signature element. */
interface SignatureParts {
  readonly signature: XmlElement;
  readonly signedInfo: XmlElement;
  readonly signedInfoC14n: Canonicalization;
  readonly method: SignatureMethod;
  readonly referenceUri: string;
  readonly referenceC14n: Canonicalization;
  readonly digestHash: string;
  readonly digestValue: Buffer;
  readonly signatureValue: Buffer;
}

/** Verifies the enveloped signature of `signed` with one of `keys`; throws XmlSignatureRejected otherwise. */
export function verifyEnvelopedSignature(
  signed: XmlElement,
  keys: readonly KeyObject[],
  profile: SignatureProfile = EXCLUSIVE_PROFILE,
): void {
  if (!signatureValueVerifiesHere(checkUpToSignatureValue(signed, keys, profile))) throw notVerified();
}

/**
 * verifyEnvelopedSignature with the signature value's maths on `thread` (signature-value.ts); every
 * other check runs first, on the calling thread, as in the synchronous form.
 */
export async function verifyEnvelopedSignatureOn(
  thread: CryptoThread,
  signed: XmlElement,
  keys: readonly KeyObject[],
  profile: SignatureProfile = EXCLUSIVE_PROFILE,
): Promise<void> {
  if (!(await signatureValueVerifies(checkUpToSignatureValue(signed, keys, profile), thread))) throw notVerified();
}

function checkUpToSignatureValue(
  signed: XmlElement,
  keys: readonly KeyObject[],
  profile: SignatureProfile,
): SignatureValueCheck {
  const parts = readSignature(signed, profile);
  const id = signed.getAttribute('ID');
  if (!id) throw new XmlSignatureRejected(`signed ${signed.localName} has no ID`);
  if (parts.referenceUri !== `#${id}`) {
    throw new XmlSignatureRejected(`Signature Reference does not point at its own ${signed.localName}`, true);
  }
  // Signature wrapping defence (with the caller reading only `signed`): the ID names one element only.
  if (countElementsWithId(root(signed), id) !== 1) {
    throw new XmlSignatureRejected('signed ID is not unique in the document', true);
  }

  const digester = createHash(parts.digestHash);
  let signedInfo: string;
  try {
    // The Reference's canonical form goes to the digest as it is produced, never held whole.
    canonicalize(signed, parts.referenceC14n, parts.signature, (chunk) => digester.update(chunk, 'utf8'));
    signedInfo = canonicalize(parts.signedInfo, parts.signedInfoC14n);
  } catch (error) {
    if (error instanceof CanonicalizationRefused) throw new XmlSignatureRejected(error.message);
    throw error;
  }
  const digest = digester.digest();
  if (digest.length !== parts.digestValue.length || !timingSafeEqual(digest, parts.digestValue)) {
    throw new XmlSignatureRejected('Reference digest does not match: the signed content was altered', true);
  }
  const { hash, keyType, pss } = parts.method;
  return {
    hash,
    data: Buffer.from(signedInfo, 'utf8'),
    keys: keys.filter((key) => key.asymmetricKeyType === keyType),
    keyType,
    pss: pss === true,
    signatureValue: parts.signatureValue,
  };
}

const notVerified = (): XmlSignatureRejected =>
  new XmlSignatureRejected('SignatureValue does not verify with any of the issuer certificates', true);

function canonicalize(
  element: XmlElement,
  c14n: Canonicalization,
  exclude?: XmlElement,
  write?: (chunk: string) => void,
): string {
  return c14n.exclusive
    ? exclusiveCanonicalXml(element, { exclude, inclusiveNamespacePrefixes: c14n.prefixes, write })
    : inclusiveCanonicalXml(element, { exclude, write });
}

function readSignature(signed: XmlElement, profile: SignatureProfile): SignatureParts {
  const signatures = children(signed, NS.dsig, 'Signature');
  if (signatures.length !== 1) {
    throw new XmlSignatureRejected(`${signed.localName} must carry exactly one enveloped Signature`);
  }
  const signature = signatures[0]!;
  const [signedInfo, signatureValueEl, ...rest] = dsigChildren(signature, 'Signature');
  if (signedInfo?.localName !== 'SignedInfo' || signatureValueEl?.localName !== 'SignatureValue') {
    throw new XmlSignatureRejected('Signature must start with SignedInfo and SignatureValue');
  }
  if (rest.length > 1 || (rest.length === 1 && rest[0]!.localName !== 'KeyInfo')) {
    throw new XmlSignatureRejected('Signature may carry only SignedInfo, SignatureValue and KeyInfo');
  }

  const [c14nMethod, signatureMethod, reference] = dsigSequence(
    signedInfo,
    'SignedInfo',
    ['CanonicalizationMethod', 'SignatureMethod', 'Reference'],
    'SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference',
  );
  const signedInfoC14n = canonicalization(c14nMethod, 'CanonicalizationMethod', profile);
  const method = SIGNATURE_METHODS.get(signatureMethod.getAttribute('Algorithm') ?? '');
  if (!method || elementChildren(signatureMethod).length > 0) {
    throw new XmlSignatureRejected(
      'SignatureMethod is not accepted (RSA PKCS#1 v1.5, RSA-PSS or ECDSA, with SHA-256/384/512 only)',
    );
  }

  const referenceUri = reference.getAttribute('URI') ?? '';
  const [transforms, digestMethod, digestValueEl] = dsigSequence(
    reference,
    'Reference',
    ['Transforms', 'DigestMethod', 'DigestValue'],
    'Reference must hold Transforms, DigestMethod and DigestValue',
  );
  const [enveloped, c14n, ...otherTransforms] = dsigChildren(transforms, 'Transforms');
  if (
    enveloped?.localName !== 'Transform' ||
    enveloped.getAttribute('Algorithm') !== ENVELOPED ||
    !onlyInclusiveNamespaces(enveloped) ||
    c14n?.localName !== 'Transform' ||
    otherTransforms.length > 0
  ) {
    throw new XmlSignatureRejected('Reference transforms must be enveloped-signature then a canonicalization');
  }
  const referenceC14n = canonicalization(c14n, 'Transform', profile);
  const digestHash = DIGEST_METHODS.get(digestMethod.getAttribute('Algorithm') ?? '');
  if (!digestHash || elementChildren(digestMethod).length > 0) {
    throw new XmlSignatureRejected('DigestMethod is not accepted (SHA-256/384/512 only)');
  }
  return {
    signature,
    signedInfo,
    signedInfoC14n,
    method,
    referenceUri,
    referenceC14n,
    digestHash,
    digestValue: base64Value(digestValueEl, 'DigestValue'),
    signatureValue: base64Value(signatureValueEl, 'SignatureValue'),
  };
}

/**
 * The canonicalization an algorithm element names, if the profile accepts it, with the exclusive form's
 * InclusiveNamespaces PrefixList (Exc-C14N §3); inclusive c14n takes no parameter.
 */
function canonicalization(el: XmlElement, name: string, profile: SignatureProfile): Canonicalization {
  const algorithm = el.getAttribute('Algorithm') ?? '';
  const known = CANONICALIZATIONS.get(algorithm);
  if (!known || !profile.canonicalizations.has(algorithm)) {
    throw new XmlSignatureRejected(
      known
        ? `${name} ${algorithm} is accepted only from an IdP whose trust anchor sets saml.canonicalization: inclusive`
        : `${name} must be ${profile === EXCLUSIVE_PROFILE ? `exclusive c14n (${EXCLUSIVE_C14N})` : 'exclusive or inclusive c14n 1.0'}`,
    );
  }
  const children = elementChildren(el);
  if (children.length === 0) return { exclusive: known.exclusive, prefixes: [] };
  const [inclusive] = children;
  // Exc-C14N §3 puts InclusiveNamespaces in the exclusive c14n namespace; xml-crypto (so samlify and
  // node-saml) writes it in the namespace of the algorithm it parameterizes, #WithComments included.
  if (
    !known.exclusive ||
    children.length !== 1 ||
    (inclusive!.namespaceURI !== INCLUSIVE_NAMESPACES && inclusive!.namespaceURI !== algorithm) ||
    inclusive!.localName !== 'InclusiveNamespaces' ||
    elementChildren(inclusive!).length > 0
  ) {
    throw new XmlSignatureRejected(
      known.exclusive
        ? `${name} may only carry an InclusiveNamespaces PrefixList`
        : `${name} (inclusive c14n) takes no parameter`,
    );
  }
  const prefixes = (inclusive!.getAttribute('PrefixList') ?? '').split(/[ \t\r\n]+/).filter((p) => p.length > 0);
  return { exclusive: true, prefixes };
}

/**
 * The enveloped-signature transform takes no parameter, but xml-crypto (so node-saml- and samlify-based
 * IdPs) writes its InclusiveNamespaces list into every Transform, in a namespace named after the
 * transform's algorithm: that child, and nothing else, is tolerated there and ignored.
 */
function onlyInclusiveNamespaces(transform: XmlElement): boolean {
  const children = elementChildren(transform);
  return (
    children.length === 0 ||
    (children.length === 1 &&
      (children[0]!.namespaceURI === INCLUSIVE_NAMESPACES || children[0]!.namespaceURI === ENVELOPED) &&
      children[0]!.localName === 'InclusiveNamespaces' &&
      elementChildren(children[0]!).length === 0)
  );
}

/** Base64 element content (XML whitespace allowed between characters, as XMLDSig's base64Binary). */
function base64Value(el: XmlElement, name: string): Buffer {
  if (elementChildren(el).length > 0) throw new XmlSignatureRejected(`${name} must hold base64 text only`);
  const value = (el.textContent ?? '').replace(/[ \t\r\n]+/g, '');
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new XmlSignatureRejected(`${name} is not base64`);
  }
  return Buffer.from(value, 'base64');
}

/** Element children, all of which must be XML-DSig elements. */
function dsigChildren(parent: XmlElement, name: string): XmlElement[] {
  const children = elementChildren(parent);
  if (children.some((el) => el.namespaceURI !== NS.dsig)) {
    throw new XmlSignatureRejected(`${name} holds an element outside the XML-DSig namespace`);
  }
  return children;
}

/** The dsig children of `parent`, which must be exactly the three elements `names`, in that order. */
function dsigSequence(
  parent: XmlElement,
  name: string,
  names: readonly [string, string, string],
  refusal: string,
): [XmlElement, XmlElement, XmlElement] {
  const found = dsigChildren(parent, name);
  if (found.length !== 3 || found.some((el, i) => el.localName !== names[i])) throw new XmlSignatureRejected(refusal);
  return found as [XmlElement, XmlElement, XmlElement];
}

function elementChildren(parent: XmlNode): XmlElement[] {
  const out: XmlElement[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE) out.push(node as XmlElement);
  }
  return out;
}

/** Calls `visit` on every element below `parent`, in document order. */
function forEachElement(parent: XmlNode, visit: (el: XmlElement) => void): void {
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE) {
      visit(node as XmlElement);
      forEachElement(node, visit);
    }
  }
}

function root(node: XmlNode): XmlNode {
  let top = node;
  while (top.parentNode) top = top.parentNode;
  return top;
}

function countElementsWithId(top: XmlNode, id: string): number {
  let count = 0;
  forEachElement(top, (el) => {
    for (const attribute of el.attributes) {
      if (attribute.value === id && ID_ATTRIBUTES.has(attribute.localName)) {
        count++;
        break;
      }
    }
  });
  return count;
}
