import { describe, expect, it } from '@jest/globals';
import { foreignShape, foreignTypKind } from './jwt-kinds.js';
import { TokenTypes } from '../oauth/token-types.js';

const ISS = 'https://idp.example';
const base = { iss: ISS, sub: 'alice', aud: 'x', exp: 2_000_000_000 };
const { accessToken: AT, jwt: JWT, idToken: ID } = TokenTypes;

describe('foreignTypKind (RFC 8725 §3.11)', () => {
  it.each([
    ['dpop+jwt', 'a DPoP proof (RFC 9449)'],
    ['application/DPoP+JWT', 'a DPoP proof (RFC 9449)'],
    ['logout+jwt', 'a logout token (OIDC Back-Channel Logout)'],
    ['oauth-id-jag+jwt', 'an ID-JAG (an assertion for the jwt-bearer grant)'],
    ['client-authentication+jwt', 'a client assertion'],
    ['secevent+jwt', 'a security event token (RFC 8417)'],
    ['txntoken+jwt', 'a transaction token'],
    ['at+jwt', undefined],
    ['JWT', undefined],
    [undefined, undefined],
    [42, undefined],
  ])('%s → %s', (typ, kind) => {
    expect(foreignTypKind(typ)).toBe(kind);
  });
});

describe('foreignShape', () => {
  it.each<[string, string, Record<string, unknown>, string | undefined]>([
    ['a plain access token', AT, { scope: 'read', client_id: 'c' }, undefined],
    ['a plain JWT', JWT, { repository: 'acme/app' }, undefined],
    ['a plain ID token', ID, { nonce: 'n', at_hash: 'h', azp: 'c' }, undefined],
    [
      'a logout token',
      AT,
      { events: { 'http://schemas.openid.net/event/backchannel-logout': {} } },
      'is a logout token (events claim with the back-channel logout event)',
    ],
    ['a security event token', ID, { events: { 'urn:x': {} } }, 'is a security event token (events claim)'],
    ['a malformed events claim', JWT, { events: 'x' }, 'is a security event token (events claim)'],
    ['a DPoP proof (htm)', ID, { htm: 'POST' }, 'is a DPoP proof (htm/htu claims)'],
    ['a DPoP proof (htu)', JWT, { htu: 'https://x' }, 'is a DPoP proof (htm/htu claims)'],
    ['a client assertion', JWT, { sub: ISS }, 'has sub equal to iss (a client assertion or self-issued token)'],
    [
      'an ID token as access token (nonce)',
      AT,
      { nonce: 'n' },
      `is an ID token (it carries nonce); present it as ${ID}`,
    ],
    ['an ID token as JWT (at_hash)', JWT, { at_hash: 'h' }, `is an ID token (it carries at_hash); present it as ${ID}`],
    ['an ID token as JWT (c_hash)', JWT, { c_hash: 'h' }, `is an ID token (it carries c_hash); present it as ${ID}`],
    ['an ID token as JWT (s_hash)', AT, { s_hash: 'h' }, `is an ID token (it carries s_hash); present it as ${ID}`],
    [
      'an access token as ID token (scope)',
      ID,
      { scope: 'read' },
      'is not an ID token: it carries scope, an access-token claim',
    ],
    [
      'an access token as ID token (scp)',
      ID,
      { scp: ['read'] },
      'is not an ID token: it carries scp, an access-token claim',
    ],
    [
      'an ID-JAG as ID token (client_id)',
      ID,
      { client_id: 'c' },
      'is not an ID token: it carries client_id, an access-token claim',
    ],
    ['an unknown type', 'urn:x', { nonce: 'n', scope: 'x' }, undefined],
  ])('%s', (_name, type, claims, expected) => {
    expect(foreignShape(type, { ...base, ...claims })).toBe(expected);
  });
});
