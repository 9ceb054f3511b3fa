import { constants, createHash, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { CanonicalizationRefused, EXCLUSIVE_C14N, exclusiveCanonicalXml } from './exclusive-c14n.js';
import { children, ELEMENT_NODE, NS, type XmlElement, type XmlNode } from './saml-xml.js';

/**
 * Verification of the one XML-DSig profile SAML IdPs use (SAML Core §5.4): an enveloped signature, a
 * direct child of the signed element, with one Reference to that element's ID, transforms
 * enveloped-signature + exclusive c14n, SHA-2 digests, RSA (PKCS#1 v1.5 or PSS) or ECDSA over SHA-2. Anything else in that
 * shape is refused, never interpreted: one Reference, no XPath or other transforms, no Object, no
 * KeyInfo trust (keys come only from the caller, i.e. the trust anchor).
 *
 * Why not xml-crypto: node-saml's path through it parses the document several times and locates the
 * reference with an XPath engine; it costs some 2.5 ms per assertion, 15 × a whole JWT exchange (issue
 * 5). This works on the one strict parse the caller already made, so the nodes verified are the nodes
 * the caller then reads. Signatures outside the profile but within what xml-crypto supports (inclusive
 * c14n, c14n with comments) are left to node-saml (`inFastProfile`). `enveloped-signature.spec.ts`
 * checks every verdict against xml-crypto's on real and hostile signatures.
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
/** Canonicalization algorithms xml-crypto implements and this module does not: left to node-saml. */
const OTHER_C14N = new Set([
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
]);
/** Attribute names xml-crypto treats as IDs; a referenced ID must be carried by one element only. */
const ID_ATTRIBUTES = new Set(['ID', 'Id', 'id']);

/** The signature parts, read strictly from the Signature element. */
interface SignatureParts {
  readonly signature: XmlElement;
  readonly signedInfo: XmlElement;
  readonly signedInfoPrefixes: readonly string[];
  readonly method: SignatureMethod;
  readonly referenceUri: string;
  readonly referencePrefixes: readonly string[];
  readonly digestHash: string;
  readonly digestValue: Buffer;
  readonly signatureValue: Buffer;
}

/**
 * False when `signed`'s Signature child canonicalizes with an algorithm this module leaves to node-saml
 * (inclusive c14n, or either c14n with comments); true otherwise, including for signatures it will refuse.
 */
export function inFastProfile(signed: XmlElement): boolean {
  const signature = children(signed, NS.dsig, 'Signature')[0];
  if (!signature) return true;
  let other = false;
  forEachElement(signature, (el) => {
    const algorithm = el.getAttribute('Algorithm');
    if (el.namespaceURI === NS.dsig && algorithm !== null && OTHER_C14N.has(algorithm)) other = true;
  });
  return !other;
}

/** Verifies the enveloped signature of `signed` with one of `keys`; throws XmlSignatureRejected otherwise. */
export function verifyEnvelopedSignature(signed: XmlElement, keys: readonly KeyObject[]): void {
  const parts = readSignature(signed);
  const id = signed.getAttribute('ID');
  if (!id) throw new XmlSignatureRejected(`signed ${signed.localName} has no ID`);
  if (parts.referenceUri !== `#${id}`) {
    throw new XmlSignatureRejected(`Signature Reference does not point at its own ${signed.localName}`, true);
  }
  // Signature wrapping defence (with the caller reading only `signed`): the ID names one element only.
  if (countElementsWithId(root(signed), id) !== 1) {
    throw new XmlSignatureRejected('signed ID is not unique in the document', true);
  }

  let digested: string;
  let signedInfo: string;
  try {
    digested = exclusiveCanonicalXml(signed, {
      exclude: parts.signature,
      inclusiveNamespacePrefixes: parts.referencePrefixes,
    });
    signedInfo = exclusiveCanonicalXml(parts.signedInfo, { inclusiveNamespacePrefixes: parts.signedInfoPrefixes });
  } catch (error) {
    if (error instanceof CanonicalizationRefused) throw new XmlSignatureRejected(error.message);
    throw error;
  }
  const digest = createHash(parts.digestHash).update(digested, 'utf8').digest();
  if (digest.length !== parts.digestValue.length || !timingSafeEqual(digest, parts.digestValue)) {
    throw new XmlSignatureRejected('Reference digest does not match: the signed content was altered', true);
  }
  const data = Buffer.from(signedInfo, 'utf8');
  const { hash, keyType, pss } = parts.method;
  for (const key of keys) {
    if (key.asymmetricKeyType !== keyType) continue;
    const ok =
      keyType === 'ec'
        ? // XMLDSig ECDSA (RFC 4051 §3.3): the signature value is r || s, not DER.
          verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, parts.signatureValue)
        : pss
          ? verify(
              hash,
              data,
              { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
              parts.signatureValue,
            )
          : verify(hash, data, key, parts.signatureValue);
    if (ok) return;
  }
  throw new XmlSignatureRejected('SignatureValue does not verify with any of the issuer certificates', true);
}

function readSignature(signed: XmlElement): SignatureParts {
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

  const [c14nMethod, signatureMethod, reference, ...more] = dsigChildren(signedInfo, 'SignedInfo');
  if (
    c14nMethod?.localName !== 'CanonicalizationMethod' ||
    signatureMethod?.localName !== 'SignatureMethod' ||
    reference?.localName !== 'Reference' ||
    more.length > 0
  ) {
    throw new XmlSignatureRejected(
      'SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference',
    );
  }
  const signedInfoPrefixes = exclusiveC14nPrefixes(c14nMethod, 'CanonicalizationMethod');
  const method = SIGNATURE_METHODS.get(signatureMethod.getAttribute('Algorithm') ?? '');
  if (!method || elementChildren(signatureMethod).length > 0) {
    throw new XmlSignatureRejected(
      'SignatureMethod is not accepted (RSA PKCS#1 v1.5, RSA-PSS or ECDSA, with SHA-256/384/512 only)',
    );
  }

  const referenceUri = reference.getAttribute('URI') ?? '';
  const [transforms, digestMethod, digestValueEl, ...extra] = dsigChildren(reference, 'Reference');
  if (
    transforms?.localName !== 'Transforms' ||
    digestMethod?.localName !== 'DigestMethod' ||
    digestValueEl?.localName !== 'DigestValue' ||
    extra.length > 0
  ) {
    throw new XmlSignatureRejected('Reference must hold Transforms, DigestMethod and DigestValue');
  }
  const [enveloped, c14n, ...otherTransforms] = dsigChildren(transforms, 'Transforms');
  if (
    enveloped?.localName !== 'Transform' ||
    enveloped.getAttribute('Algorithm') !== ENVELOPED ||
    !onlyInclusiveNamespaces(enveloped) ||
    c14n?.localName !== 'Transform' ||
    otherTransforms.length > 0
  ) {
    throw new XmlSignatureRejected('Reference transforms must be enveloped-signature then exclusive c14n');
  }
  const referencePrefixes = exclusiveC14nPrefixes(c14n, 'Transform');
  const digestHash = DIGEST_METHODS.get(digestMethod.getAttribute('Algorithm') ?? '');
  if (!digestHash || elementChildren(digestMethod).length > 0) {
    throw new XmlSignatureRejected('DigestMethod is not accepted (SHA-256/384/512 only)');
  }
  return {
    signature,
    signedInfo,
    signedInfoPrefixes,
    method,
    referenceUri,
    referencePrefixes,
    digestHash,
    digestValue: base64Value(digestValueEl, 'DigestValue'),
    signatureValue: base64Value(signatureValueEl, 'SignatureValue'),
  };
}

/** The exclusive c14n algorithm element's InclusiveNamespaces PrefixList (Exc-C14N §3), if any. */
function exclusiveC14nPrefixes(el: XmlElement, name: string): readonly string[] {
  if (el.getAttribute('Algorithm') !== EXCLUSIVE_C14N) {
    throw new XmlSignatureRejected(`${name} must be exclusive c14n (${EXCLUSIVE_C14N})`);
  }
  const children = elementChildren(el);
  if (children.length === 0) return [];
  const [inclusive] = children;
  if (
    children.length !== 1 ||
    inclusive!.namespaceURI !== INCLUSIVE_NAMESPACES ||
    inclusive!.localName !== 'InclusiveNamespaces' ||
    elementChildren(inclusive!).length > 0
  ) {
    throw new XmlSignatureRejected(`${name} may only carry an InclusiveNamespaces PrefixList`);
  }
  return (inclusive!.getAttribute('PrefixList') ?? '').split(/[ \t\r\n]+/).filter((p) => p.length > 0);
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
    if (el.attributes.some((a) => ID_ATTRIBUTES.has(a.localName) && a.value === id)) count++;
  });
  return count;
}
