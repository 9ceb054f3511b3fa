import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The documents of the SAML verification-cost row (saml-cost.ts): the bench's own assertion (the
 * fixtures' template, as saml-signer.ts fills it), and variants of it signed by xml-crypto with either
 * canonicalization, some made to be as costly as an input of their size can be.
 */

// xml-crypto without its type declarations (they pull TypeScript's `dom` lib in); the slice used is typed.
interface SignedXml {
  addReference(reference: Record<string, unknown>): void;
  computeSignature(xml: string, options: Record<string, unknown>): void;
  getSignatureXml(): string;
}
const { SignedXml } = createRequire(import.meta.url)('xml-crypto') as {
  SignedXml: new (options: Record<string, unknown>) => SignedXml;
};

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const ASSERTION = "/*[local-name(.)='Assertion']";

export interface InputSettings {
  readonly root: string;
  readonly entityId: string;
  readonly audience: string;
  readonly recipient: string;
}

export interface Signer {
  readonly certificate: string;
  readonly privateKey: string;
}

export type Canonicalization = 'exclusive' | 'inclusive';

/** The fixtures' assertion template filled in (fresh ID, valid for 300 s), with `statement` as its attributes. */
export function assertionXml(settings: InputSettings, statement: string): string {
  const template = readFileSync(join(settings.root, 'test/fixtures/saml/assertion.template.xml'), 'utf8').trim();
  const now = new Date();
  const until = new Date(now.getTime() + 300_000).toISOString();
  const values: Record<string, string> = {
    AssertionID: `_${randomUUID()}`,
    IssueInstant: now.toISOString(),
    Issuer: settings.entityId,
    NameIDFormat: EMAIL_FORMAT,
    NameID: 'alice@example.com',
    ConfirmationMethod: BEARER,
    SubjectConfirmationDataNotOnOrAfter: until,
    SubjectRecipient: settings.recipient,
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: until,
    Audience: settings.audience,
  };
  return template.replace('{AttributeStatement}', statement).replace(/\{(\w+)\}/g, (_m, name: string) => values[name]!);
}

/** An AttributeStatement with one attribute holding `values` (xs:string). */
export function attributeStatement(values: readonly string[]): string {
  return (
    '<saml:AttributeStatement><saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">' +
    values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`).join('') +
    '</saml:Attribute></saml:AttributeStatement>'
  );
}

/**
 * Signs the Assertion as an IdP would (enveloped signature after the Issuer, RSA-SHA256, the chosen
 * canonicalization for SignedInfo and the Reference, the certificate in KeyInfo), splicing the Signature
 * into the document as written rather than re-serialising it.
 */
export function sign(xml: string, signer: Signer, c14n: Canonicalization, prefixList: readonly string[] = []): string {
  const algorithm = c14n === 'exclusive' ? EXC_C14N : C14N;
  const sig = new SignedXml({
    privateKey: signer.privateKey,
    publicCert: signer.certificate,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: algorithm,
    ...(prefixList.length > 0 && { inclusiveNamespacesPrefixList: [...prefixList] }),
  });
  sig.addReference({
    xpath: ASSERTION,
    transforms: [`${DSIG}enveloped-signature`, algorithm],
    digestAlgorithm: SHA256,
    ...(prefixList.length > 0 && { inclusiveNamespacesPrefixList: [...prefixList] }),
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${ASSERTION}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  const at = xml.indexOf('</saml:Issuer>') + '</saml:Issuer>'.length;
  return xml.slice(0, at) + sig.getSignatureXml() + xml.slice(at);
}

/** `values` attribute values of `length` characters each, enough to make the document about `bytes` long. */
export function valuesFilling(bytes: number, length = 24): string[] {
  const per = '<saml:AttributeValue xsi:type="xs:string"></saml:AttributeValue>'.length + length;
  return Array.from({ length: Math.floor(bytes / per) }, (_, i) => `group-${String(i).padStart(length - 6, '0')}`);
}
