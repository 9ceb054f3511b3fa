import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Signs SAML 2.0 Assertions for the benchmark as the e2e tests' IdP does (test/support/saml-idp.ts):
 * the same assertion template (test/fixtures/saml/), filled in by samlify's `replaceTagsByValue`, signed
 * by samlify's XML-DSig signer (xml-crypto: enveloped signature, RSA-SHA256, exclusive c14n) with a
 * throwaway RSA-2048 key. Used in worker threads (saml-sign-worker.ts) to pre-sign pools of assertions.
 */

// samlify without its type declarations (they pull TypeScript's `dom` lib in); the slice used is typed.
interface Samlify {
  setSchemaValidator(validator: { validate: (xml: string) => Promise<unknown> }): void;
  SamlLib: {
    replaceTagsByValue(template: string, values: Record<string, unknown>): string;
    constructSAMLSignature(options: Record<string, unknown>): string;
  };
}
const samlify = createRequire(import.meta.url)('samlify') as Samlify;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const ASSERTION_XPATH = "/*[local-name(.)='Assertion']";
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface SamlSignerSettings {
  /** The repository root (to read the test fixtures' assertion template). */
  readonly root: string;
  readonly entityId: string;
  readonly certificate: string;
  readonly privateKey: string;
  /** AudienceRestriction/Audience: actbridge's SAML entity ID (by default its ISSUER). */
  readonly audience: string;
  /** SubjectConfirmationData Recipient: actbridge's token endpoint. */
  readonly recipient: string;
  readonly nameId: string;
  /** Assertion lifetime, s (NotOnOrAfter of the Conditions and the bearer confirmation). */
  readonly lifetimeSec: number;
}

/** Returns a function that signs one fresh Assertion (new ID, current instants) per call. */
export function samlAssertionSigner(settings: SamlSignerSettings): () => string {
  const template = readFileSync(join(settings.root, 'test/fixtures/saml/assertion.template.xml'), 'utf8')
    .trim()
    .replace(
      '{AttributeStatement}',
      '<saml:AttributeStatement><saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">' +
        '<saml:AttributeValue xsi:type="xs:string">readers</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>',
    );
  // samlify wants the certificate as in metadata: the base64 body, without PEM armour.
  const signingCert = settings.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  return () => {
    const now = new Date();
    const until = new Date(now.getTime() + settings.lifetimeSec * 1000).toISOString();
    const xml = samlify.SamlLib.replaceTagsByValue(template, {
      AssertionID: `_${randomUUID()}`,
      IssueInstant: now.toISOString(),
      Issuer: settings.entityId,
      NameIDFormat: EMAIL_FORMAT,
      NameID: settings.nameId,
      ConfirmationMethod: BEARER,
      SubjectConfirmationDataNotOnOrAfter: until,
      SubjectRecipient: settings.recipient,
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: until,
      Audience: settings.audience,
    });
    return samlify.SamlLib.constructSAMLSignature({
      rawSamlMessage: xml,
      referenceTagXPath: ASSERTION_XPATH,
      privateKey: settings.privateKey,
      signingCert,
      signatureAlgorithm: RSA_SHA256,
      isBase64Output: false,
      signatureConfig: {
        prefix: 'ds',
        location: { reference: `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`, action: 'after' },
      },
    });
  };
}
