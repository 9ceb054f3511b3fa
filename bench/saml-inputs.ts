import { createRequire } from 'node:module';
import { ASSERTION_XPATH, RSA_SHA256, type AssertionSettings } from './saml-assertion.js';

export { assertionXml, attributeStatement } from './saml-assertion.js';

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
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export type InputSettings = AssertionSettings;

export interface Signer {
  readonly certificate: string;
  readonly privateKey: string;
}

export type Canonicalization = 'exclusive' | 'inclusive';

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
    xpath: ASSERTION_XPATH,
    transforms: [`${DSIG}enveloped-signature`, algorithm],
    digestAlgorithm: SHA256,
    ...(prefixList.length > 0 && { inclusiveNamespacesPrefixList: [...prefixList] }),
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  const at = xml.indexOf('</saml:Issuer>') + '</saml:Issuer>'.length;
  return xml.slice(0, at) + sig.getSignatureXml() + xml.slice(at);
}

/** `values` attribute values of `length` characters each, enough to make the document about `bytes` long. */
export function valuesFilling(bytes: number, length = 24): string[] {
  const per = '<saml:AttributeValue xsi:type="xs:string"></saml:AttributeValue>'.length + length;
  return Array.from({ length: Math.floor(bytes / per) }, (_, i) => `group-${String(i).padStart(length - 6, '0')}`);
}
