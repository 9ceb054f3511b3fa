import { X509Certificate, type KeyObject } from 'node:crypto';
import { clock } from '../common/clock.js';
import {
  attr,
  children,
  descendants,
  NS,
  parseStrictXml,
  text,
  XmlRejected,
  type XmlDocument,
  type XmlElement,
} from './saml-xml.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----/g;
/** RFC 7518 §3.3's floor, as for JWT issuers' keys (jws-algorithms.ts) and actbridge's own (SIGNING_KEYS). */
const MIN_RSA_BITS = 2048;
/** The curves of the accepted ECDSA signature methods (RFC 4051 §3.3 over P-256/384/521). */
const EC_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** A certificate in PEM form, checked to parse as X.509 (throws with a readable message otherwise). */
export function certificatePem(base64Der: string): string {
  const body = base64Der.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('certificate is not base64');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new Error(`not a valid X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  return pem;
}

/** Why `key` must not verify SAML signatures, if it must not (RSA under 2048 bits, another curve or key type). */
function signingKeyProblem(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails;
  // RFC 7518 §3.3 / NIST SP 800-131A: an RSA key under 2048 bits is refused, as for JWTs.
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    return bits < MIN_RSA_BITS ? `RSA key of ${bits} bits; at least ${MIN_RSA_BITS} required` : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = details?.namedCurve ?? '?';
    return EC_CURVES[curve] ? undefined : `EC key on curve ${curve}; P-256, P-384 or P-521 required`;
  }
  return `${key.asymmetricKeyType ?? 'unknown'} key; an RSA or EC key is required`;
}

/** Every PEM certificate in `text` (at least one), normalised, but the chain of another (withoutIssuers). */
export function pemCertificates(pemText: string): string[] {
  // A trust anchor holds the IdP's public certificate; its private key in actbridge's config is a leak.
  const secret = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----/.exec(pemText);
  if (secret) throw new Error(`holds a private key (-----BEGIN ${secret[1]}-----); give the IdP's certificate only`);
  const bodies = [...pemText.matchAll(PEM_BLOCK)].map((m) => m[1]!);
  if (bodies.length === 0) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return signingCertificates(bodies.map(certificatePem));
}

/**
 * The certificates of one group (an X509Data, a PEM file) whose keys may verify assertions: not those
 * that issued another of the group (XMLDSig §4.4.4: an X509Data holds the validation key's certificate
 * and its chain; a CA's key signs certificates, never assertions, so trusting it would let the CA, a
 * public one for a fullchain file, sign as the IdP), recognised by their signature on it, not by names
 * alone; each one left must hold a key strong enough (signingKeyProblem).
 */
function signingCertificates(pems: readonly string[]): string[] {
  const certs = pems.map((pem) => new X509Certificate(pem));
  const issuedAnother = (ca: X509Certificate) =>
    certs.some(
      // A renewed certificate of the same key is no CA of its predecessor (each "issued" the other).
      (other) => !other.publicKey.equals(ca.publicKey) && other.issuer === ca.subject && other.verify(ca.publicKey),
    );
  return pems.filter((_, i) => {
    const certificate = certs[i]!;
    if (certs.length > 1 && issuedAnother(certificate)) return false;
    const problem = signingKeyProblem(certificate.publicKey);
    if (problem) throw new Error(`certificate ${certificate.subject.replace(/\n/g, ', ')}: ${problem}`);
    return true;
  });
}

/** What an IdP's metadata says: its signing certificates, and until when it may be relied on. */
export interface IdpMetadata {
  readonly certificates: string[];
  /** Epoch seconds; absent when no element around the IdP's role sets a validUntil. */
  readonly validUntil?: number;
}

/** The signing certificates of IdP `entityId` in SAML metadata, still valid at `now` (see idpMetadata). */
export function certificatesFromMetadata(xml: string, entityId: string, now = clock.seconds()): string[] {
  return idpMetadata(xml, entityId, now).certificates;
}

/** A metadata validUntil, as xs:dateTime with its time zone (SAML Metadata §2.2.1 and §2.3). */
const VALID_UNTIL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The earliest validUntil of `role` and the elements around it (SAML Metadata §2.3.1-2.3.2, §2.4.1: an
 * element's validity bounds what it contains, so a later one inside cannot extend it), epoch seconds.
 */
function validUntilOf(role: XmlElement): number | undefined {
  let earliest: number | undefined;
  for (let node: XmlElement | null = role; node; node = node.parentNode as XmlElement | null) {
    if (node.nodeType !== 1) break;
    const value = attr(node, 'validUntil');
    if (value === undefined) continue;
    const ms = VALID_UNTIL.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms))
      throw new Error(`metadata ${node.localName} has a malformed validUntil (xs:dateTime required)`);
    earliest = Math.min(earliest ?? Infinity, Math.floor(ms / 1000));
  }
  return earliest;
}

/**
 * The signing certificates of IdP `entityId` in SAML metadata (SAML Metadata §2.4.3, §2.4.1.1): the
 * X509Certificate of each KeyDescriptor with `use="signing"` or no `use`, in the IDPSSODescriptor of
 * the EntityDescriptor whose entityID is exactly `entityId` (an EntitiesDescriptor may hold several);
 * refused once its validUntil has passed (SAML Metadata §2.3.1: the metadata's expiration time), since a
 * key its publisher no longer vouches for (an IdP key rotated out, a federation's stale copy) must not sign.
 */
export function idpMetadata(xml: string, entityId: string, now = clock.seconds()): IdpMetadata {
  let doc: XmlDocument;
  try {
    doc = parseStrictXml(xml);
  } catch (error) {
    // The operator's own metadata: the names it holds help here, unlike in a caller's description.
    const problem = error instanceof XmlRejected ? (error.detail ?? error.message) : (error as Error).message;
    throw new Error(`metadata ${problem}`, { cause: error });
  }
  const entities = descendants(doc, NS.metadata, 'EntityDescriptor');
  if (entities.length === 0) throw new Error('metadata has no EntityDescriptor');
  const entity = entities.find((e) => attr(e, 'entityID') === entityId);
  if (!entity) {
    throw new Error(
      `metadata has no EntityDescriptor with entityID ${JSON.stringify(entityId)} (found ${entities
        .map((e) => JSON.stringify(attr(e, 'entityID') ?? ''))
        .slice(0, 5)
        .join(', ')})`,
    );
  }
  const idp = children(entity, NS.metadata, 'IDPSSODescriptor');
  if (idp.length !== 1) throw new Error('metadata EntityDescriptor must have exactly one IDPSSODescriptor');
  const certs: string[] = [];
  for (const descriptor of children(idp[0]!, NS.metadata, 'KeyDescriptor')) {
    const use = attr(descriptor, 'use');
    if (use !== undefined && use !== 'signing') continue;
    for (const data of descendants(descriptor, NS.dsig, 'X509Data')) {
      const pems = children(data, NS.dsig, 'X509Certificate').map((cert) => certificatePem(text(cert)));
      certs.push(...signingCertificates(pems));
    }
  }
  if (certs.length === 0) throw new Error('metadata IDPSSODescriptor has no signing certificate');
  const validUntil = validUntilOf(idp[0]!);
  if (validUntil !== undefined && validUntil <= now) {
    throw new Error(`metadata expired at ${new Date(validUntil * 1000).toISOString()} (validUntil)`);
  }
  return { certificates: [...new Set(certs)], ...(validUntil !== undefined && { validUntil }) };
}

const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 256;

/**
 * The public key of a PEM certificate, parsed once: anchors hand out the same certificate strings on
 * every request (refreshed metadata yields new strings, so the cache is bounded and simply restarted).
 */
export function publicKeyOf(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (!key) {
    key = new X509Certificate(pem).publicKey;
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(pem, key);
  }
  return key;
}
