import { beforeAll, describe, expect, it } from '@jest/globals';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { itMaps } from '../../test/support/maps.js';
import {
  accessTokenHash,
  DpopProofError,
  normaliseHtu,
  verifyDpopProof,
  type DpopProofExpectations,
} from './dpop-proof.js';

const NOW = 1_800_000_000;
const URL_ = 'https://sts.example.com/oauth/token';
const expectations: DpopProofExpectations = { method: 'POST', url: URL_, maxAge: 300, clockSkew: 30, now: NOW };

let ecPrivate: CryptoKey;
let ecPublicJwk: JWK;
let ecPrivateJwk: JWK;
let rsaPrivate: CryptoKey;
let rsaPublicJwk: JWK;
let otherPublicJwk: JWK;

/** A proof with the given header and claim overrides (undefined removes a member). */
async function proof(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = ecPrivate,
): Promise<string> {
  const payload: Record<string, unknown> = { jti: 'jti-0123456789abcdef', htm: 'POST', htu: URL_, iat: NOW, ...claims };
  const protectedHeader: Record<string, unknown> = { alg: 'ES256', typ: 'dpop+jwt', jwk: ecPublicJwk, ...header };
  for (const record of [payload, protectedHeader]) {
    for (const [k, v] of Object.entries(record)) if (v === undefined) delete record[k];
  }
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

/** Signs with HS256 by hand: jose refuses to put a symmetric key in a jwk header itself. */
function hmacProof(): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64({ jti: 'x', htm: 'POST', htu: URL_, iat: NOW })}.c2ln`;
}

/** Signs `header` as given with the EC key: jose refuses to sign a crit it does not know itself. */
async function rawProof(header: Record<string, unknown>): Promise<string> {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: ecPublicJwk, ...header })}.${b64({ jti: 'x', htm: 'POST', htu: URL_, iat: NOW })}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ecPrivate, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

beforeAll(async () => {
  const ec = await generateKeyPair('ES256', { extractable: true });
  ecPrivate = ec.privateKey;
  ecPublicJwk = await exportJWK(ec.publicKey);
  ecPrivateJwk = await exportJWK(ec.privateKey);
  const rsa = await generateKeyPair('RS256', { extractable: true });
  rsaPrivate = rsa.privateKey;
  rsaPublicJwk = await exportJWK(rsa.publicKey);
  otherPublicJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
});

describe('verifyDpopProof', () => {
  it('accepts a valid proof and returns the RFC 7638 thumbprint of its key', async () => {
    const result = await verifyDpopProof(await proof({ nonce: 'n-1' }), expectations);
    expect(result).toEqual({
      jkt: await calculateJwkThumbprint(ecPublicJwk, 'sha256'),
      jti: 'jti-0123456789abcdef',
      iat: NOW,
      nonce: 'n-1',
    });
  });

  it('accepts RS256, typ with application/ prefix and other case, and htu differing only by normalisation', async () => {
    const rs = await proof({}, { alg: 'RS256', jwk: rsaPublicJwk }, rsaPrivate);
    await expect(verifyDpopProof(rs, expectations)).resolves.toMatchObject({ jti: 'jti-0123456789abcdef' });
    const typ = await proof({}, { typ: 'application/DPoP+JWT' });
    await expect(verifyDpopProof(typ, expectations)).resolves.toBeDefined();
    const htu = await proof({ htu: 'HTTPS://STS.example.com:443/oauth/token?x=1#frag' });
    await expect(verifyDpopProof(htu, expectations)).resolves.toBeDefined();
    const percent = await proof({ htu: 'https://sts.example.com/%6fauth/%74oken' });
    await expect(verifyDpopProof(percent, expectations)).resolves.toBeDefined();
  });

  it('checks ath against the access token when one is expected (resource servers)', async () => {
    const at = 'eyJ.access.token';
    const good = await proof({ ath: accessTokenHash(at) });
    await expect(verifyDpopProof(good, { ...expectations, accessToken: at })).resolves.toBeDefined();
  });

  const rows: Array<
    [name: string, make: () => Promise<string> | string, message: string, extra?: Partial<DpopProofExpectations>]
  > = [
    ['not a JWT', () => 'not-a-jwt', 'is not a well-formed JWT'],
    ['JWE-shaped', () => 'a.b.c.d.e', 'is not a well-formed JWT'],
    ['typ missing', () => proof({}, { typ: undefined }), 'typ must be dpop+jwt'],
    ['typ JWT', () => proof({}, { typ: 'JWT' }), 'typ must be dpop+jwt'],
    ['typ at+jwt', () => proof({}, { typ: 'at+jwt' }), 'typ must be dpop+jwt'],
    [
      'alg HS256 (symmetric)',
      () => hmacProof(),
      "alg 'HS256' is not accepted; use one of ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA, Ed25519",
    ],
    [
      'an unknown alg of 4,000 characters, echoed in part',
      () => rawProof({ alg: 'X'.repeat(4000) }),
      `alg '${'X'.repeat(32)}' is not accepted; use one of ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA, Ed25519`,
    ],
    [
      'alg outside a narrower allowlist',
      () => proof(),
      "alg 'ES256' is not accepted; use one of RS256",
      { algorithms: ['RS256'] },
    ],
    ['no jwk header', () => proof({}, { jwk: undefined }), 'has no jwk header'],
    [
      'private key in the jwk header',
      () => proof({}, { jwk: ecPrivateJwk }),
      'jwk header must be a public key (it holds private key material)',
    ],
    ['jwk of another key than the signer', () => proof({}, { jwk: otherPublicJwk }), 'signature is invalid'],
    [
      'jwk of the wrong type for alg',
      () => proof({}, { jwk: rsaPublicJwk }),
      'jwk header is not a usable public key for its alg',
    ],
    [
      'crit naming an unknown extension',
      () => rawProof({ crit: ['urn:x'], 'urn:x': 1 }),
      'crit header parameter names an extension actbridge does not support',
    ],
    [
      'crit b64',
      () => rawProof({ crit: ['b64'], b64: true }),
      'crit header parameter names an extension actbridge does not support',
    ],
    ['jti missing', () => proof({ jti: undefined }), 'jti claim is missing or invalid'],
    ['jti empty', () => proof({ jti: '' }), 'jti claim is missing or invalid'],
    ['htm missing', () => proof({ htm: undefined }), 'htm claim is missing'],
    ['htu missing', () => proof({ htu: undefined }), 'htu claim is missing'],
    ['iat missing', () => proof({ iat: undefined }), 'iat claim is missing'],
    ['nonce not a string', () => proof({ nonce: 42 }), 'nonce claim must be a string'],
    ['htm GET', () => proof({ htm: 'GET' }), 'htm must be POST'],
    ['htm lower case', () => proof({ htm: 'post' }), 'htm must be POST'],
    ['htu other path', () => proof({ htu: 'https://sts.example.com/oauth/introspect' }), `htu must be ${URL_}`],
    ['htu other host', () => proof({ htu: 'https://evil.example.com/oauth/token' }), `htu must be ${URL_}`],
    ['htu other scheme', () => proof({ htu: 'http://sts.example.com/oauth/token' }), `htu must be ${URL_}`],
    ['htu other port', () => proof({ htu: 'https://sts.example.com:8443/oauth/token' }), `htu must be ${URL_}`],
    ['htu not a URL', () => proof({ htu: 'oauth/token' }), `htu must be ${URL_}`],
    [
      'htu with userinfo',
      () => proof({ htu: 'https://evil.example@sts.example.com/oauth/token' }),
      `htu must be ${URL_}`,
    ],
    [
      'htu with user and password',
      () => proof({ htu: 'https://u:p@sts.example.com/oauth/token' }),
      `htu must be ${URL_}`,
    ],
    ['htu with a leading space', () => proof({ htu: ` ${URL_}` }), `htu must be ${URL_}`],
    ['htu with a trailing tab', () => proof({ htu: `${URL_}\t` }), `htu must be ${URL_}`],
    ['htu with a newline inside', () => proof({ htu: URL_.replace('/oauth', '/\noauth') }), `htu must be ${URL_}`],
    ['iat too old', () => proof({ iat: NOW - 331 }), 'iat is older than 300 s'],
    ['iat in the future', () => proof({ iat: NOW + 31 }), 'iat is in the future'],
    ['exp passed', () => proof({ exp: NOW - 100 }), 'has expired (exp)'],
    ['ath missing at a resource', () => proof(), 'ath claim is missing', { accessToken: 'at' }],
    [
      'ath of another token',
      () => proof({ ath: accessTokenHash('other') }),
      'ath does not match the access token',
      { accessToken: 'at' },
    ],
  ];

  // Rest parameters: rows without `extra` must not make jest take the 4th parameter for a done callback.
  it.each(rows)('refuses: %s', async (...row) => {
    const [, make, message, extra] = row;
    const error = await verifyDpopProof(await make(), { ...expectations, ...extra }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DpopProofError);
    expect((error as Error).message).toBe(message);
  });

  it('a tampered payload fails the signature', async () => {
    const [h, , s] = (await proof()).split('.');
    const payload = Buffer.from(JSON.stringify({ jti: 'other', htm: 'POST', htu: URL_, iat: NOW })).toString(
      'base64url',
    );
    await expect(verifyDpopProof(`${h}.${payload}.${s}`, expectations)).rejects.toThrow('signature is invalid');
  });

  it('iat exactly at the edges of the window is accepted', async () => {
    await expect(verifyDpopProof(await proof({ iat: NOW - 330 }), expectations)).resolves.toBeDefined();
    await expect(verifyDpopProof(await proof({ iat: NOW + 30 }), expectations)).resolves.toBeDefined();
  });
});

describe('normaliseHtu', () => {
  itMaps(normaliseHtu, [
    ['https://Example.COM/a/../token?q=1#f', 'https://example.com/token'],
    ['https://example.com:443/token', 'https://example.com/token'],
    ['http://example.com:80/token', 'http://example.com/token'],
    ['https://user:pw@example.com/token', undefined], // RFC 9110 §4.2.4: userinfo is an error
    ['https://example.com', 'https://example.com/'], // RFC 3986 §6.2.3: empty path is /
    // RFC 3986 §6.2.2.1: percent-encodings compare in upper case.
    ['https://example.com/caf%c3%a9/a%2fb', 'https://example.com/caf%C3%A9/a%2Fb'],
    // RFC 3986 §6.2.2.2: percent-encoded unreserved characters are those characters.
    ['https://example.com/%7Euser/%74oken%2D%5f%2e%41', 'https://example.com/~user/token-_.A'],
    ['https://example.com/caf\u00e9', 'https://example.com/caf%C3%A9'],
    // RFC 3986 has no backslash; the URL parser would read it as '/', so 'https://sts\\oauth\\token' named
    // the token endpoint though no client's URL serialiser writes it (after the path it is query).
    ['https://example.com\\oauth\\token', undefined],
    ['https://example.com/oauth\\token', undefined],
    ['https://example.com/token?a=\\', 'https://example.com/token'],
  ]);

  it.each(['relative/path', 'urn:x:y', 'ftp://example.com/x', ''])('%s is not an http(s) URL', (input) => {
    expect(normaliseHtu(input)).toBeUndefined();
  });
});
