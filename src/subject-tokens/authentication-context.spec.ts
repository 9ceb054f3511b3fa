import { describe, expect, it } from '@jest/globals';
import { TokenTypes } from '../oauth/token-types.js';
import { authenticationContext } from './authentication-context.js';
import type { ValidatedToken } from './validated-token.js';

function token(fields: Partial<ValidatedToken>): ValidatedToken {
  return { tokenType: TokenTypes.jwt, claims: {}, ...fields } as ValidatedToken;
}

/** The latest authentication time believed (now + CLOCK_SKEW, in the grants). */
const LATEST = 1_800_000_000;

describe('authenticationContext', () => {
  it("copies a JWT's auth_time, acr and amr", () => {
    expect(
      authenticationContext(
        token({ claims: { auth_time: 1_700_000_000, acr: 'urn:loa:2', amr: ['pwd', 'otp'] } }),
        LATEST,
      ),
    ).toEqual({ auth_time: 1_700_000_000, acr: 'urn:loa:2', amr: ['pwd', 'otp'] });
  });

  it('leaves out a claim of the wrong type rather than passing it on', () => {
    expect(
      authenticationContext(
        token({ claims: { auth_time: '1700000000', acr: ['urn:loa:2'], amr: ['pwd', 1] } }),
        LATEST,
      ),
    ).toEqual({});
    expect(authenticationContext(token({ claims: { auth_time: Number.NaN, amr: 'pwd' } }), LATEST)).toEqual({});
  });

  // OIDC Core §2: auth_time is when the user authenticated, which cannot be after now; passed on, a
  // future one would satisfy every resource server's max_age (RFC 9470) until that time.
  it('leaves out an authentication time after the latest believed, for a JWT and a SAML assertion', () => {
    expect(authenticationContext(token({ claims: { auth_time: LATEST, acr: 'a' } }), LATEST)).toEqual({
      auth_time: LATEST,
      acr: 'a',
    });
    expect(authenticationContext(token({ claims: { auth_time: LATEST + 1, acr: 'a' } }), LATEST)).toEqual({ acr: 'a' });
    expect(
      authenticationContext(
        token({ tokenType: TokenTypes.saml2, authn: { instant: LATEST + 1, contextClass: 'c' } }),
        LATEST,
      ),
    ).toEqual({ acr: 'c' });
  });

  it("takes a SAML assertion's AuthnStatement, never attributes named like the claims", () => {
    const saml = token({
      tokenType: TokenTypes.saml2,
      claims: { auth_time: 1, acr: 'urn:attribute', amr: ['attribute'] },
      authn: { instant: 1_700_000_000, contextClass: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509' },
    });
    expect(authenticationContext(saml, LATEST)).toEqual({
      auth_time: 1_700_000_000,
      acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509',
    });
    expect(authenticationContext(token({ tokenType: TokenTypes.saml2, claims: { acr: 'x' } }), LATEST)).toEqual({});
  });
});
