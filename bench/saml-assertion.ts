import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The bench's SAML 2.0 Assertion: the e2e fixtures' template (test/fixtures/saml/) and what fills it. */

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const ASSERTION_XPATH = "/*[local-name(.)='Assertion']";

export interface AssertionSettings {
  /** The repository root (to read the template). */
  readonly root: string;
  readonly entityId: string;
  /** AudienceRestriction/Audience: actbridge's SAML entity ID (by default its ISSUER). */
  readonly audience: string;
  /** SubjectConfirmationData Recipient: actbridge's token endpoint. */
  readonly recipient: string;
}

/** The template, with `statement` as its AttributeStatement; the other `{Name}` tags left to fill. */
export function assertionTemplate(root: string, statement: string): string {
  return readFileSync(join(root, 'test/fixtures/saml/assertion.template.xml'), 'utf8')
    .trim()
    .replace('{AttributeStatement}', statement);
}

/** Values for the template's tags: a fresh ID, issued now, valid for `lifetimeSec`. */
export function assertionValues(
  settings: AssertionSettings,
  nameId: string,
  lifetimeSec: number,
): Record<string, string> {
  const now = new Date();
  const until = new Date(now.getTime() + lifetimeSec * 1000).toISOString();
  return {
    AssertionID: `_${randomUUID()}`,
    IssueInstant: now.toISOString(),
    Issuer: settings.entityId,
    NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    NameID: nameId,
    ConfirmationMethod: 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
    SubjectConfirmationDataNotOnOrAfter: until,
    SubjectRecipient: settings.recipient,
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: until,
    Audience: settings.audience,
  };
}

/** An AttributeStatement with one attribute holding `values` (xs:string). */
export function attributeStatement(values: readonly string[]): string {
  return (
    '<saml:AttributeStatement><saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">' +
    values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`).join('') +
    '</saml:Attribute></saml:AttributeStatement>'
  );
}

/** The fixtures' assertion template filled in (fresh ID, valid for 300 s), with `statement` as its attributes. */
export function assertionXml(settings: AssertionSettings, statement: string): string {
  const values = assertionValues(settings, 'alice@example.com', 300);
  return assertionTemplate(settings.root, statement).replace(/\{(\w+)\}/g, (_m, name: string) => values[name]!);
}
