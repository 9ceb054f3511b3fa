import { beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { certificatesFromMetadata, idpMetadata, pemCertificates } from './saml-certificates.js';

let signing: string;
let encryption: string;
let weak: string; // RSA-1024
let ec: string; // P-384
let ca: string; // a CA certificate...
let leaf: string; // ...and the IdP's signing certificate it issued
let renewed: string; // the signing certificate re-issued with the same key
const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');

const metadata = (entityId: string, descriptors: string) =>
  `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
     <md:EntityDescriptor entityID="https://other.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
     <md:EntityDescriptor entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${descriptors}</md:IDPSSODescriptor></md:EntityDescriptor>
   </md:EntitiesDescriptor>`;
const key = (cert: string, use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
     ${body(cert)}
   </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;

beforeAll(async () => {
  const [signingPems, encryptionPems] = await Promise.all([
    generate([{ name: 'commonName', value: 's' }]),
    generate([{ name: 'commonName', value: 'e' }]),
  ]);
  [signing, encryption] = [signingPems.cert, encryptionPems.cert];
  const authority = await generate([{ name: 'commonName', value: 'Some CA' }], { algorithm: 'sha256' });
  ca = authority.cert;
  const issued = await generate([{ name: 'commonName', value: 'idp' }], {
    algorithm: 'sha256',
    ca: { key: authority.private, cert: authority.cert },
  });
  leaf = issued.cert;
  renewed = (
    await generate([{ name: 'commonName', value: 's' }], {
      algorithm: 'sha256',
      keyPair: { privateKey: signingPems.private, publicKey: signingPems.public },
    })
  ).cert;
  [weak, ec] = (
    await Promise.all([
      generate([{ name: 'commonName', value: 'weak' }], { keySize: 1024 }),
      generate([{ name: 'commonName', value: 'ec' }], { keyType: 'ec', curve: 'P-384' }),
    ])
  ).map((p) => p.cert);
});

const raw = (pem: string) => new X509Certificate(pem).raw.toString('base64');

describe('certificatesFromMetadata', () => {
  it("takes the signing certificate of an X509Data holding its chain, not the CA's (XMLDSig §4.4.4)", () => {
    const chain = `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body(leaf)}</ds:X509Certificate><ds:X509Certificate>${body(ca)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
    expect(certificatesFromMetadata(metadata('https://idp.example', chain), 'https://idp.example').map(raw)).toEqual([
      raw(leaf),
    ]);
  });

  it('takes the signing (or unqualified) certificates of the named IdP only', () => {
    const certs = certificatesFromMetadata(
      metadata('https://idp.example', key(signing, 'signing') + key(encryption, 'encryption')),
      'https://idp.example',
    );
    expect(certs).toHaveLength(1);
    expect(new X509Certificate(certs[0]!).raw.equals(new X509Certificate(signing).raw)).toBe(true);
    expect(certificatesFromMetadata(metadata('https://idp.example', key(signing)), 'https://idp.example')).toHaveLength(
      1,
    );
  });

  it.each([
    [
      'another entity',
      () => metadata('https://idp.example', key(signing)),
      'https://nope.example',
      /no EntityDescriptor with entityID "https:\/\/nope.example"/,
    ],
    [
      'no signing certificate',
      () => metadata('https://idp.example', key(encryption, 'encryption')),
      'https://idp.example',
      /has no signing certificate/,
    ],
    [
      'a broken certificate',
      () => metadata('https://idp.example', key('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')),
      'https://idp.example',
      /not a valid X.509 certificate/,
    ],
    [
      'a DOCTYPE',
      () => `<!DOCTYPE x>${metadata('https://idp.example', key(signing))}`,
      'https://idp.example',
      /DOCTYPE/,
    ],
    ['not metadata', () => '<x/>', 'https://idp.example', /has no EntityDescriptor/],
    [
      // The operator's own file: the message keeps the name a caller's description leaves out.
      'metadata that is not well-formed',
      () => '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">',
      'https://idp.example',
      /^metadata is not well-formed XML \(unclosed tag: md:EntityDescriptor\)$/,
    ],
  ])('refuses %s', (_name, xml, entityId, message) => {
    expect(() => certificatesFromMetadata(xml(), entityId)).toThrow(message);
  });
});

// SAML Metadata §2.3.1: validUntil is the metadata's expiration time, and bounds everything inside it.
describe('idpMetadata: validUntil', () => {
  const NOW = Date.parse('2027-01-15T08:00:00Z') / 1000;
  const at = (iso: string) => Date.parse(iso) / 1000;
  const dated = (outer: string, entity: string, role: string) =>
    `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"${outer}>
       <md:EntityDescriptor entityID="https://idp.example"${entity}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"${role}>${key(signing)}</md:IDPSSODescriptor></md:EntityDescriptor>
     </md:EntitiesDescriptor>`;
  const until = (iso: string) => ` validUntil="${iso}"`;

  it('takes the earliest validUntil around the IdP role, and none when none is set', () => {
    expect(idpMetadata(dated('', '', ''), 'https://idp.example', NOW)).toEqual({
      certificates: [expect.any(String)],
    });
    const xml = dated(until('2027-02-01T00:00:00Z'), until('2027-01-20T00:00:00.5Z'), until('2027-03-01T00:00:00Z'));
    expect(idpMetadata(xml, 'https://idp.example', NOW).validUntil).toBe(at('2027-01-20T00:00:00Z'));
    // An offset is read as written: 09:00 at +02:00 is 07:00 UTC.
    expect(idpMetadata(dated('', until('2027-01-16T09:00:00+02:00'), ''), 'https://idp.example', NOW).validUntil).toBe(
      at('2027-01-16T07:00:00Z'),
    );
  });

  it.each([
    [
      'on the EntitiesDescriptor',
      () => dated(until('2027-01-15T07:59:59Z'), '', ''),
      'metadata expired at 2027-01-15T07:59:59.000Z (validUntil)',
    ],
    [
      'on the EntityDescriptor',
      () => dated('', until('2027-01-15T08:00:00Z'), ''),
      'metadata expired at 2027-01-15T08:00:00.000Z (validUntil)',
    ],
    [
      'on the IDPSSODescriptor',
      () => dated('', '', until('2027-01-01T00:00:00Z')),
      'metadata expired at 2027-01-01T00:00:00.000Z (validUntil)',
    ],
    [
      'inside a later one (the outer bounds it)',
      () => dated(until('2027-01-10T00:00:00Z'), until('2028-01-01T00:00:00Z'), ''),
      'metadata expired at 2027-01-10T00:00:00.000Z (validUntil)',
    ],
    [
      'malformed',
      () => dated('', until('next week'), ''),
      'metadata EntityDescriptor has a malformed validUntil (xs:dateTime required)',
    ],
    [
      'without a time zone',
      () => dated('', until('2028-01-01T00:00:00'), ''),
      'metadata EntityDescriptor has a malformed validUntil (xs:dateTime required)',
    ],
  ])('refuses a validUntil passed or malformed %s', (_name, xml, message) => {
    expect(() => idpMetadata(xml(), 'https://idp.example', NOW)).toThrow(message);
    expect(() => certificatesFromMetadata(xml(), 'https://idp.example', NOW)).toThrow(message);
  });
});

describe('pemCertificates', () => {
  it('reads every certificate of a PEM bundle', () => {
    expect(pemCertificates(`${signing}\n${encryption}`)).toHaveLength(2);
  });

  it('accepts an EC certificate on P-384', () => {
    expect(pemCertificates(ec)).toHaveLength(1);
  });

  // RFC 7518 §3.3, as for JWT issuers: a signature by a key under 2048 bits is not evidence.
  it('refuses an RSA key under 2048 bits, in a PEM bundle and in metadata', () => {
    const message = 'certificate CN=weak: RSA key of 1024 bits; at least 2048 required';
    expect(() => pemCertificates(`${signing}\n${weak}`)).toThrow(message);
    expect(() => certificatesFromMetadata(metadata('https://idp.example', key(weak)), 'https://idp.example')).toThrow(
      message,
    );
  });

  // XMLDSig §4.4.4: the certificates after the signing one are its chain; a CA's key signs no assertion.
  it("keeps the signing certificate of a chain, never its CA's (a fullchain file)", () => {
    expect(pemCertificates(`${leaf}\n${ca}`).map(raw)).toEqual([raw(leaf)]);
    expect(pemCertificates(`${ca}\n${leaf}`).map(raw)).toEqual([raw(leaf)]);
  });

  it('keeps both certificates of one key, renewed, and of two IdP keys', () => {
    expect(pemCertificates(`${signing}\n${renewed}`)).toHaveLength(2);
    expect(pemCertificates(`${signing}\n${leaf}`)).toHaveLength(2);
  });

  it('refuses text without a certificate', () => {
    expect(() => pemCertificates('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(
      'holds no PEM certificate',
    );
  });
});
