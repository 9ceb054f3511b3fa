import { describe, expect, it } from '@jest/globals';
import { TokenTypes } from '../oauth/token-types.js';
import { authenticationContext } from './authentication-context.js';
import type { ValidatedToken } from './validated-token.js';

function token(fields: Partial<ValidatedToken>): ValidatedToken {
  return { tokenType: TokenTypes.jwt, claims: {}, ...fields } as ValidatedToken;
}

describe('authenticationContext', () => {
  it("copies a JWT's auth_time, acr and amr", () => {
    expect(
      authenticationContext(token({ claims: { auth_time: 1_700_000_000, acr: 'urn:loa:2', amr: ['pwd', 'otp'] } })),
    ).toEqual({ auth_time: 1_700_000_000, acr: 'urn:loa:2', amr: ['pwd', 'otp'] });
  });

  it('leaves out a claim of the wrong type rather than passing it on', () => {
    expect(
      authenticationContext(token({ claims: { auth_time: '1700000000', acr: ['urn:loa:2'], amr: ['pwd', 1] } })),
    ).toEqual({});
    expect(authenticationContext(token({ claims: { auth_time: Number.NaN, amr: 'pwd' } }))).toEqual({});
  });

  it("takes a SAML assertion's AuthnStatement, never attributes named like the claims", () => {
    const saml = token({
      tokenType: TokenTypes.saml2,
      claims: { auth_time: 1, acr: 'urn:attribute', amr: ['attribute'] },
      authn: { instant: 1_700_000_000, contextClass: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509' },
    });
    expect(authenticationContext(saml)).toEqual({
      auth_time: 1_700_000_000,
      acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509',
    });
    expect(authenticationContext(token({ tokenType: TokenTypes.saml2, claims: { acr: 'x' } }))).toEqual({});
  });
});
