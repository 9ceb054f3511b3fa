import { describe, expect, it } from '@jest/globals';
import { AccessTokenError } from './access-token-error.js';

describe('AccessTokenError', () => {
  // RFC 6750 §3: error_description in the challenge, as in the body, is %x20-21 / %x23-5B / %x5D-7E.
  const error = new AccessTokenError('invalid_token', 'token "a\\b" is \u0001é\r\nbad');

  it('keeps error_description to its characters in the body', () => {
    expect(error.toJSON()).toEqual({ error: 'invalid_token', error_description: "token 'a?b' is ????bad" });
  });

  it('and in the WWW-Authenticate challenge', () => {
    expect(error.challenge({ realm: 'api' })).toBe(
      `Bearer realm="api", error="invalid_token", error_description="token 'a?b' is ????bad"`,
    );
    expect(error.challenge({ dpop: true, dpopAlgorithms: ['ES256'] })).toBe(
      `DPoP error="invalid_token", error_description="token 'a?b' is ????bad", algs="ES256"`,
    );
  });

  it('a DPoP-bound token refused as Bearer is challenged with Bearer and DPoP (RFC 9449 §7.2)', () => {
    const downgrade = new AccessTokenError('invalid_token', 'bound', undefined, undefined, true);
    expect(downgrade.challenge({ dpopAlgorithms: ['ES256', 'PS256'], resourceMetadata: 'https://rs/prm' })).toBe(
      'Bearer error="invalid_token", error_description="bound", resource_metadata="https://rs/prm", ' +
        'DPoP algs="ES256 PS256", resource_metadata="https://rs/prm"',
    );
  });
});
