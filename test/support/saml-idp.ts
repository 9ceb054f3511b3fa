import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { generate } from 'selfsigned';

/**
 * A real SAML 2.0 IdP for tests: samlify, with a throwaway RSA key and self-signed certificate made at
 * setup. It issues bare signed Assertions (samlify's XML-DSig signer) and samlp:Responses through
 * samlify's own IdP login-response flow, with the Assertion and/or the Response signed.
 */

// samlify is loaded without its type declarations: they pull TypeScript's `dom` lib into the whole
// program (see src/saml/saml-xml.ts). The slice used here is typed below.
interface SamlifyEntity {
  getMetadata(): string;
}
interface SamlifyIdp extends SamlifyEntity {
  createLoginResponse(
    sp: SamlifyEntity,
    requestInfo: Record<string, unknown>,
    binding: 'post',
    user: Record<string, unknown>,
    options: { customTagReplacement: (template: string) => { id: string; context: string } },
  ): Promise<{ id: string; context: string }>;
}
interface Samlify {
  IdentityProvider(settings: Record<string, unknown>): SamlifyIdp;
  ServiceProvider(settings: Record<string, unknown>): SamlifyEntity;
  setSchemaValidator(validator: { validate: (xml: string) => Promise<unknown> }): void;
  SamlLib: {
    replaceTagsByValue(template: string, values: Record<string, unknown>): string;
    constructSAMLSignature(options: Record<string, unknown>): string;
  };
}
const samlify = createRequire(import.meta.url)('samlify') as Samlify;

// xml-crypto's SignedXml, for signatures samlify does not make (inclusive c14n); typed slice as above.
interface SignedXml {
  addReference(reference: Record<string, unknown>): void;
  computeSignature(xml: string, options: Record<string, unknown>): void;
  getSignatureXml(): string;
}
const xmlCrypto = createRequire(import.meta.url)('xml-crypto') as {
  SignedXml: new (options: Record<string, unknown>) => SignedXml;
};

// samlify insists on a schema validator before it processes messages. Only the test IdP uses it (to
// *produce* messages); actbridge's verifying side never skips a check.
samlify.setSchemaValidator({ validate: async () => 'skipped: test IdP' });

const FIXTURES = new URL('../fixtures/saml/', import.meta.url);
const ASSERTION_TEMPLATE = readFileSync(new URL('assertion.template.xml', FIXTURES), 'utf8').trim();
const RESPONSE_TEMPLATE = readFileSync(new URL('response.template.xml', FIXTURES), 'utf8').trim();

export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const C14N_ALGORITHMS = {
  exclusive: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  inclusive: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
} as const;
const ASSERTION_XPATH = "/*[local-name(.)='Assertion']";

export interface AssertionOptions {
  readonly id?: string;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly issuer?: string;
  /** AudienceRestriction/Audience (default: the SP entity ID the IdP was set up with). */
  readonly audience?: string;
  /** SubjectConfirmationData Recipient (default: the token endpoint); null leaves it out. */
  readonly recipient?: string | null;
  readonly method?: string;
  readonly issueInstant?: Date;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  readonly confirmationNotOnOrAfter?: Date;
  /** Attribute Name → values. */
  readonly attributes?: Record<string, readonly string[]>;
  /** XML added to Conditions after the AudienceRestriction (e.g. a ProxyRestriction). */
  readonly conditions?: string;
  /** The Response's Destination (default: the token endpoint); null leaves it out. */
  readonly destination?: string | null;
  /** The Response's InResponseTo (default: none, an unsolicited Response). */
  readonly inResponseTo?: string;
}

export interface SamlTestIdp {
  readonly entityId: string;
  readonly certificate: string;
  readonly privateKey: string;
  /** samlify's IdP metadata (EntityDescriptor with the signing certificate). */
  readonly metadata: string;
  /** A bare Assertion, signed (enveloped XML-DSig, RSA-SHA256, exclusive c14n). */
  signedAssertion(options?: AssertionOptions): string;
  /** The same Assertion, unsigned. */
  unsignedAssertion(options?: AssertionOptions): string;
  /** A samlp:Response from samlify's IdP login flow, the Assertion and/or the Response signed. */
  response(signing: { assertion: boolean; response: boolean }, options?: AssertionOptions): Promise<string>;
  /**
   * Signs the first Assertion of `xml` with xml-crypto (enveloped, RSA-SHA256, the given c14n for
   * SignedInfo and the Reference, certificate in KeyInfo) and splices the Signature in after its Issuer,
   * leaving the rest of the text as written (a `&#13;` stays a character reference).
   */
  sign(xml: string, canonicalization: 'exclusive' | 'inclusive'): string;
}

export interface SamlTestIdpOptions {
  readonly entityId: string;
  /** actbridge's SAML entity ID (the Audience) and token endpoint (Recipient, ACS). */
  readonly spEntityId: string;
  readonly tokenEndpoint: string;
}

/** A fresh RSA-2048 key and self-signed certificate (PEM). */
export async function throwawayCertificate(commonName: string): Promise<{ certificate: string; privateKey: string }> {
  const pems = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256' });
  return { certificate: pems.cert, privateKey: pems.private };
}

export async function createSamlTestIdp(options: SamlTestIdpOptions): Promise<SamlTestIdp> {
  const { certificate, privateKey } = await throwawayCertificate(new URL(options.entityId).hostname);
  const idp = samlify.IdentityProvider({
    entityID: options.entityId,
    signingCert: certificate,
    privateKey,
    requestSignatureAlgorithm: RSA_SHA256,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: POST_BINDING, Location: `${options.entityId}/sso` }],
    singleLogoutService: [{ Binding: POST_BINDING, Location: `${options.entityId}/slo` }],
    loginResponseTemplate: { context: RESPONSE_TEMPLATE, attributes: [] },
  });
  const sp = (signing: { assertion: boolean; response: boolean }) =>
    samlify.ServiceProvider({
      entityID: options.spEntityId,
      assertionConsumerService: [{ Binding: POST_BINDING, Location: options.tokenEndpoint }],
      wantAssertionsSigned: signing.assertion,
      wantMessageSigned: signing.response,
    });

  const fill = (raw: string, o: AssertionOptions, extra: Record<string, string> = {}) => {
    const template =
      o.conditions === undefined
        ? raw
        : raw.replace(
            '</saml:AudienceRestriction></saml:Conditions>',
            `</saml:AudienceRestriction>${o.conditions}</saml:Conditions>`,
          );

    const now = new Date();
    const in5min = new Date(now.getTime() + 5 * 60_000);
    const attributes = Object.entries(o.attributes ?? { groups: ['readers'] });
    const values: Record<string, unknown> = {
      AssertionID: o.id ?? `_${randomUUID()}`,
      IssueInstant: (o.issueInstant ?? now).toISOString(),
      Issuer: o.issuer ?? options.entityId,
      NameIDFormat: o.nameIdFormat ?? EMAIL_FORMAT,
      NameID: o.nameId ?? 'alice@example.com',
      ConfirmationMethod: o.method ?? BEARER,
      SubjectConfirmationDataNotOnOrAfter: (o.confirmationNotOnOrAfter ?? o.notOnOrAfter ?? in5min).toISOString(),
      SubjectRecipient: o.recipient === undefined ? options.tokenEndpoint : o.recipient,
      ConditionsNotBefore: (o.notBefore ?? now).toISOString(),
      ConditionsNotOnOrAfter: (o.notOnOrAfter ?? in5min).toISOString(),
      Audience: o.audience ?? options.spEntityId,
      ...extra,
    };

    let statement = '';
    if (attributes.length > 0) {
      statement = `<saml:AttributeStatement>${attributes
        .map(([name, vals], i) => {
          values[`AttrName${i}`] = name;
          const valueXml = vals.map((v, j) => {
            values[`AttrValue${i}_${j}`] = v;
            return `<saml:AttributeValue xsi:type="xs:string">{AttrValue${i}_${j}}</saml:AttributeValue>`;
          });
          return `<saml:Attribute Name="{AttrName${i}}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${valueXml.join('')}</saml:Attribute>`;
        })
        .join('')}</saml:AttributeStatement>`;
    }
    return samlify.SamlLib.replaceTagsByValue(template.replace('{AttributeStatement}', statement), values);
  };

  const signAssertion = (xml: string) =>
    samlify.SamlLib.constructSAMLSignature({
      rawSamlMessage: xml,
      referenceTagXPath: ASSERTION_XPATH,
      privateKey,
      // samlify wants the certificate as in metadata: the base64 body, without PEM armour.
      signingCert: certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''),
      signatureAlgorithm: RSA_SHA256,
      isBase64Output: false,
      signatureConfig: {
        prefix: 'ds',
        location: { reference: `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`, action: 'after' },
      },
    });

  return {
    entityId: options.entityId,
    certificate,
    privateKey,
    metadata: idp.getMetadata(),
    signedAssertion: (o = {}) => signAssertion(fill(ASSERTION_TEMPLATE, o)),
    unsignedAssertion: (o = {}) => fill(ASSERTION_TEMPLATE, o),
    sign(xml, canonicalization) {
      const algorithm = C14N_ALGORITHMS[canonicalization];
      const target = "//*[local-name(.)='Assertion']";
      const signature = new xmlCrypto.SignedXml({
        privateKey,
        publicCert: certificate,
        signatureAlgorithm: RSA_SHA256,
        canonicalizationAlgorithm: algorithm,
      });
      signature.addReference({
        xpath: target,
        transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', algorithm],
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      });
      signature.computeSignature(xml, {
        prefix: 'ds',
        location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
      });
      const at = xml.indexOf('</saml:Issuer>', xml.indexOf('<saml:Assertion')) + '</saml:Issuer>'.length;
      return xml.slice(0, at) + signature.getSignatureXml() + xml.slice(at);
    },
    async response(signing, o = {}) {
      const id = `_${randomUUID()}`;
      const { context } = await idp.createLoginResponse(
        sp(signing),
        {},
        'post',
        {},
        {
          customTagReplacement: (template) => ({
            id,
            context: fill(
              (o.destination === null ? template.replace(' Destination="{Destination}"', '') : template)
                .replace('{Assertion}', ASSERTION_TEMPLATE)
                .replace(
                  ' ID="{ID}"',
                  o.inResponseTo === undefined ? ' ID="{ID}"' : ` ID="{ID}" InResponseTo="${o.inResponseTo}"`,
                ),
              o,
              {
                ID: id,
                Destination: o.destination ?? options.tokenEndpoint,
                StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
              },
            ),
          }),
        },
      );
      return Buffer.from(context, 'base64').toString('utf8');
    },
  };
}

/** RFC 7522 §2.1 encoding: base64url, no padding. */
export const base64url = (xml: string) => Buffer.from(xml, 'utf8').toString('base64url');
/** Padded standard base64, as many SAML stacks send it. */
export const base64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
