import { describe, expect, it } from '@jest/globals';
import type { ClientConfig } from '../clients/client.config.js';
import { checkIntrospection, type IntrospectionCheckContext } from './opaque-access-token.js';

const NOW = 1_800_000_000;
const ISS = 'https://idp.example';
const anchor: IntrospectionCheckContext['anchor'] = {
  issuer: ISS,
  audiences: ['https://sts.example'],
  clientIds: new Map([['svc', ['svc-at-idp']]]),
  self: false,
  clockSkew: 30,
  maxTokenAge: 3600,
  maxTokenLifetime: 86400,
};
const client = { client_id: 'svc' } as ClientConfig;
const ctx = (over: Partial<IntrospectionCheckContext> = {}): IntrospectionCheckContext => ({
  anchor,
  client,
  requireTokenType: true,
  now: NOW,
  ...over,
});
const good = {
  active: true,
  iss: ISS,
  sub: 'alice',
  client_id: 'user-app',
  aud: 'https://sts.example',
  scope: 'read write',
  exp: NOW + 600,
  iat: NOW - 10,
  token_type: 'Bearer',
};

describe('checkIntrospection (RFC 7662 §2.2 answer → claims)', () => {
  it('returns the claims, without active, under the anchor issuer', () => {
    const { iss: _iss, ...withoutIss } = good;
    expect(checkIntrospection(withoutIss, ctx())).toEqual({ ...withoutIss, active: undefined, iss: ISS });
    expect(checkIntrospection(good, ctx())).not.toHaveProperty('active');
  });

  it.each<[string, Record<string, unknown>]>([
    ['aud as a list naming actbridge', { aud: ['other', 'https://sts.example'] }],
    ['aud naming the client by its mapped id (on behalf of)', { aud: 'svc-at-idp' }],
    ['token_type in any case', { token_type: 'bearer' }],
    ['no iss (routed to the anchor)', { iss: undefined }],
    ['no scope', { scope: undefined }],
    ['exp within the clock skew', { exp: NOW - 29 }],
    ['exp at the max_token_lifetime plus the skew', { exp: NOW + 86400 + 30 }],
    ['nbf within the clock skew', { nbf: NOW + 29 }],
    ['token_use access_token (Ory Hydra)', { token_use: 'access_token' }],
  ])('accepts %s', (_name, over) => {
    expect(typeof checkIntrospection({ ...good, ...over }, ctx())).toBe('object');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['inactive', { active: false }, 'is not active (introspection)'],
    ['active not a boolean', { active: 'true' }, 'is not active (introspection)'],
    ['another issuer', { iss: 'https://evil.example' }, 'introspection names another issuer'],
    ['no token_type', { token_type: undefined }, 'introspection does not say it is an access token (no token_type)'],
    ['a refresh token', { token_type: 'refresh_token' }, "is not an access token (token_type 'refresh_token')"],
    ['a malformed token_type', { token_type: 1 }, 'introspection has a malformed token_type'],
    ['a DPoP-bound token', { token_type: 'DPoP' }, 'is DPoP-bound; sender-constrained tokens are not accepted'],
    ['token_use refresh_token (Ory Hydra)', { token_use: 'refresh_token' }, 'is not an access token (token_use)'],
    ['cnf', { cnf: { 'x5t#S256': 'x' } }, 'is sender-constrained (cnf); sender-constrained tokens are not accepted'],
    ['no exp', { exp: undefined }, 'introspection has no exp'],
    [
      'a string exp',
      { exp: String(NOW + 600) },
      'introspection has a malformed exp: a whole number of seconds is required',
    ],
    ['expired beyond the skew', { exp: NOW - 31 }, 'has expired'],
    [
      'an exp beyond the max_token_lifetime (plus skew)',
      { exp: NOW + 86400 + 31 },
      'expires too far in the future: more than 86400 s ahead (exp)',
    ],
    ['an exp of 1e300', { exp: 1e300 }, 'expires too far in the future: more than 86400 s ahead (exp)'],
    ['an infinite exp', { exp: Infinity }, 'introspection has a malformed exp: a whole number of seconds is required'],
    [
      'a fractional exp',
      { exp: NOW + 0.5 },
      'introspection has a malformed exp: a whole number of seconds is required',
    ],
    [
      'a fractional iat',
      { iat: NOW - 0.5 },
      'introspection has a malformed iat: a whole number of seconds is required',
    ],
    [
      'a string nbf',
      { nbf: String(NOW - 60) },
      'introspection has a malformed nbf: a whole number of seconds is required',
    ],
    [
      'a string iat',
      { iat: String(NOW - 60) },
      'introspection has a malformed iat: a whole number of seconds is required',
    ],
    ['nbf in the future', { nbf: NOW + 60 }, 'is not yet valid (nbf)'],
    ['iat in the future', { iat: NOW + 60 }, 'was issued in the future (iat)'],
    ['iat older than max_token_age', { iat: NOW - 4000 }, 'is too old (iat)'],
    ['no sub', { sub: undefined }, 'introspection has no sub'],
    ['an empty sub', { sub: '' }, 'introspection has no sub'],
    ['no client_id', { client_id: undefined }, 'introspection has no client_id'],
    ['no aud', { aud: undefined }, 'introspection has no aud'],
    ['an empty aud list', { aud: [] }, 'introspection has no aud'],
    ['a non-string aud', { aud: [1] }, 'introspection has a malformed aud'],
    ['an aud that is a number', { aud: 5 }, 'introspection has a malformed aud'],
    ['a number sub', { sub: 5 }, 'introspection has a malformed sub: a string is required'],
    ['a list client_id', { client_id: ['user-app'] }, 'introspection has a malformed client_id: a string is required'],
    ['an empty client_id', { client_id: '' }, 'introspection has no client_id'],
    [
      'aud for someone else',
      { aud: 'https://other.example' },
      'audience is not accepted: it must name actbridge or client svc',
    ],
    [
      "aud = the client's bare id (not mapped)",
      { aud: 'svc' },
      'audience is not accepted: it must name actbridge or client svc',
    ],
    ['a non-string scope', { scope: ['read'] }, 'introspection has a malformed scope'],
  ])('refuses %s', (_name, over, reason) => {
    expect(checkIntrospection({ ...good, ...over }, ctx())).toBe(reason);
  });

  it('accepts no token_type when the anchor does not require it', () => {
    expect(typeof checkIntrospection({ ...good, token_type: undefined }, ctx({ requireTokenType: false }))).toBe(
      'object',
    );
  });
});
