import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { stringify } from 'yaml';
import { loadTrustAnchors } from './anchor-loader.js';

let dir: string;
let cert: string;
const server = { issuer: 'https://sts.example' };
const IDP = 'urn:example:idp';
const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';

/** Loads a directory holding one anchor file; returns the loaded anchors or the ConfigError message. */
function load(anchor: Record<string, unknown> | string): string | ReturnType<typeof loadTrustAnchors> {
  const anchors = mkdtempSync(join(dir, 'anchors-'));
  writeFileSync(join(anchors, 'idp.yaml'), typeof anchor === 'string' ? anchor : stringify(anchor));
  try {
    return loadTrustAnchors(anchors, server);
  } catch (error) {
    return (error as Error).message.replaceAll(anchors, '<dir>');
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actbridge-saml-anchor-'));
  const pems = await generate([{ name: 'commonName', value: 'idp' }]);
  cert = pems.cert;
  writeFileSync(join(dir, 'idp.pem'), cert);
  writeFileSync(join(dir, 'idp-and-key.pem'), `${cert}${pems.private}`);
  writeFileSync(
    join(dir, 'metadata.xml'),
    `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${IDP}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${cert.replace(/-----[A-Z ]+-----|\s/g, '')}</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor></EntityDescriptor>`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const datedMetadata = (validUntil: string) =>
  `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${IDP}" validUntil="${validUntil}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${cert.replace(/-----[A-Z ]+-----|\s/g, '')}</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor></EntityDescriptor>`;

// SAML Metadata §2.3.1: a metadata file past its validUntil (a stale copy of a federation's) vouches for no key.
describe('a metadata file with a validUntil', () => {
  it('refuses one that has expired, naming the file', () => {
    writeFileSync(join(dir, 'expired.xml'), datedMetadata('2020-01-01T00:00:00Z'));
    expect(load({ kind: 'saml', issuer: IDP, saml: { metadata_file: '../expired.xml' } })).toContain(
      `saml.metadata_file: ${join(dir, 'expired.xml')}: metadata expired at 2020-01-01T00:00:00.000Z (validUntil)`,
    );
  });

  it('keeps the validUntil of one still valid, for the anchor to stop using it then', () => {
    writeFileSync(join(dir, 'dated.xml'), datedMetadata('2999-01-01T00:00:00Z'));
    const loaded = load({ kind: 'saml', issuer: IDP, saml: { metadata_file: '../dated.xml' } });
    expect(typeof loaded).not.toBe('string');
    expect((loaded as ReturnType<typeof loadTrustAnchors>)[0]!.config.saml!.resolvedValidUntil).toBe(
      Date.parse('2999-01-01T00:00:00Z') / 1000,
    );
  });
});

describe('kind: saml trust anchors', () => {
  it.each<[string, () => Record<string, unknown>]>([
    ['inline PEM', () => ({ certificates: [cert] })],
    ['a PEM file', () => ({ certificates: ['../idp.pem'] })],
    ['a metadata file', () => ({ metadata_file: '../metadata.xml' })],
  ])('loads certificates from %s', (_name, saml) => {
    const loaded = load({ kind: 'saml', issuer: IDP, saml: saml() });
    expect(typeof loaded).not.toBe('string');
    const [anchor] = loaded as ReturnType<typeof loadTrustAnchors>;
    expect(anchor!.config.saml!.resolvedCertificates).toHaveLength(1);
    expect(anchor!.config.saml!.allow_unsigned_assertion_in_signed_response).toBe(false);
    expect(anchor!.config.saml!.max_assertion_lifetime).toBe(3600);
    expect(anchor!.config.saml!.canonicalization).toBe('exclusive');
  });

  it('takes the inclusive c14n opt-in', () => {
    const loaded = load({ kind: 'saml', issuer: IDP, saml: { certificates: [cert], canonicalization: 'inclusive' } });
    expect(typeof loaded).not.toBe('string');
    expect((loaded as ReturnType<typeof loadTrustAnchors>)[0]!.config.saml!.canonicalization).toBe('inclusive');
  });

  it('accepts a metadata_url (fetched later, at runtime)', () => {
    expect(typeof load({ kind: 'saml', issuer: IDP, saml: { metadata_url: 'https://idp.example/metadata' } })).not.toBe(
      'string',
    );
  });

  it.each([
    ['no saml section', { kind: 'saml', issuer: IDP }, 'saml: is required for kind: saml'],
    ['no certificate source', { kind: 'saml', issuer: IDP, saml: {} }, 'saml: give exactly one certificate source'],
    [
      'two certificate sources',
      { kind: 'saml', issuer: IDP, saml: { metadata_file: '../metadata.xml', certificates: ['../idp.pem'] } },
      'saml: give exactly one certificate source',
    ],
    [
      'an issuer that is not a URI',
      { kind: 'saml', issuer: 'idp', saml: { certificates: ['../idp.pem'] } },
      'issuer: must be the IdP entity ID',
    ],
    [
      'OIDC-only fields',
      { kind: 'saml', issuer: IDP, audiences: ['x'], algorithms: ['RS256'], saml: { certificates: ['../idp.pem'] } },
      'audiences: applies to OIDC anchors only, not kind: saml',
    ],
    [
      'a jwks_uri',
      { kind: 'saml', issuer: IDP, jwks_uri: 'https://idp.example/jwks', saml: { certificates: ['../idp.pem'] } },
      'jwks_uri: applies to OIDC anchors only, not kind: saml',
    ],
    [
      'a saml section on an OIDC anchor',
      { issuer: 'https://idp.example', audiences: ['x'], saml: { certificates: ['../idp.pem'] } },
      'saml: applies to kind: saml anchors only',
    ],
    [
      'a missing PEM file',
      { kind: 'saml', issuer: IDP, saml: { certificates: ['../nope.pem'] } },
      'saml.certificates[0]:',
    ],
    [
      'a broken inline PEM',
      {
        kind: 'saml',
        issuer: IDP,
        saml: { certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] },
      },
      'saml.certificates[0]: not a valid X.509 certificate',
    ],
    // The IdP's own key file: its private key has no place in actbridge's configuration.
    [
      "a PEM file holding the IdP's private key with its certificate",
      { kind: 'saml', issuer: IDP, saml: { certificates: ['../idp-and-key.pem'] } },
      "saml.certificates[0]: ../idp-and-key.pem: holds a private key (-----BEGIN PRIVATE KEY-----); give the IdP's certificate only",
    ],
    [
      'metadata for another entity',
      { kind: 'saml', issuer: 'https://other.example', saml: { metadata_file: '../metadata.xml' } },
      'saml.metadata_file:',
    ],
    [
      'an insecure metadata_url',
      { kind: 'saml', issuer: IDP, saml: { metadata_url: 'http://idp.example/md' } },
      'saml.metadata_url: must be an https URL',
    ],
    [
      'an unknown saml field',
      { kind: 'saml', issuer: IDP, saml: { certificates: ['../idp.pem'], wat: 1 } },
      'saml.wat: property wat should not exist',
    ],
    ['an unknown kind', { kind: 'ldap', issuer: IDP }, 'kind: must be one of the following values: oidc, saml'],
    [
      'an unknown canonicalization',
      { kind: 'saml', issuer: IDP, saml: { certificates: ['../idp.pem'], canonicalization: 'c14n11' } },
      'saml.canonicalization: must be one of the following values: exclusive, inclusive',
    ],
    [
      'max_token_lifetime (SAML has max_assertion_lifetime)',
      { kind: 'saml', issuer: IDP, max_token_lifetime: 600, saml: { certificates: ['../idp.pem'] } },
      'max_token_lifetime: applies to OIDC anchors only, not kind: saml',
    ],
    [
      'one attribute Name mapped to two claim names',
      { kind: 'saml', issuer: IDP, saml: { certificates: ['../idp.pem'], attributes: { email: MAIL, mail: MAIL } } },
      `saml.attributes.mail: maps ${MAIL}, which saml.attributes.email already maps`,
    ],
  ])('refuses %s, naming the file and field', (_name, anchor, message) => {
    const result = load(anchor);
    expect(typeof result).toBe('string');
    expect(result).toContain(`<dir>/idp.yaml: ${message}`);
  });

  it('refuses one claim name given twice (two attribute Names for it): YAML keys are unique', () => {
    const twice = `kind: saml\nissuer: ${IDP}\nsaml:\n  certificates: [../idp.pem]\n  attributes:\n    email: ${MAIL}\n    email: email\n`;
    expect(load(twice)).toBe('<dir>/idp.yaml: not valid YAML: Map keys must be unique at line 7, column 5');
  });

  it('takes distinct attribute Names under distinct claim names, and an attribute renamed to its own Name', () => {
    const attributes = { email: MAIL, mail: 'mail', groups: 'http://schemas.xmlsoap.org/claims/Group' };
    const loaded = load({ kind: 'saml', issuer: IDP, saml: { certificates: ['../idp.pem'], attributes } });
    expect(typeof loaded).not.toBe('string');
  });

  it('still requires audiences and an https issuer of OIDC anchors', () => {
    expect(load({ issuer: IDP })).toMatch(/issuer: must be an https URL[^]*audiences:/);
  });
});
