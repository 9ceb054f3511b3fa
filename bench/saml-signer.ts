import { createRequire } from 'node:module';
import {
  attributeStatement,
  assertionTemplate,
  assertionValues,
  ASSERTION_XPATH,
  RSA_SHA256,
  type AssertionSettings,
} from './saml-assertion.js';

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

export interface SamlSignerSettings extends AssertionSettings {
  readonly certificate: string;
  readonly privateKey: string;
  readonly nameId: string;
  /** Assertion lifetime, s (NotOnOrAfter of the Conditions and the bearer confirmation). */
  readonly lifetimeSec: number;
}

/** Returns a function that signs one fresh Assertion (new ID, current instants) per call. */
export function samlAssertionSigner(settings: SamlSignerSettings): () => string {
  const template = assertionTemplate(settings.root, attributeStatement(['readers']));
  // samlify wants the certificate as in metadata: the base64 body, without PEM armour.
  const signingCert = settings.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  return () => {
    const xml = samlify.SamlLib.replaceTagsByValue(
      template,
      assertionValues(settings, settings.nameId, settings.lifetimeSec),
    );
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
