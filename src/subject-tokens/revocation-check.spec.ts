import { describe, expect, it } from '@jest/globals';
import { TokenTypes } from '../oauth/token-types.js';
import { rootKey, rootKeyOfToken, subjectKey } from '../stores/lineage-keys.js';
import type { TrustAnchor } from '../trust-anchors/trust-anchor.js';
import { lineageLink } from './revocation-check.js';
import type { ValidatedToken } from './validated-token.js';

const IDP = 'https://idp.example/saml';
const token = (tokenType: string, claims: Record<string, unknown>): ValidatedToken => ({
  tokenType,
  principal: { sub: 'alice', iss: IDP },
  anchor: { issuer: IDP, self: false } as TrustAnchor,
  claims,
  scope: undefined,
  expiresAt: 0,
  act: undefined,
  mayAct: undefined,
});

describe('lineageLink', () => {
  it("roots an anchor JWT at its issuer and jti, under its subject's key", () => {
    expect(lineageLink(token(TokenTypes.jwt, { jti: 'J1' }), 'raw', 'subject')).toEqual({
      parent: rootKey(IDP, 'J1'),
      known: [subjectKey(IDP, 'alice')],
      role: 'subject',
    });
  });

  // A SAML attribute named jti is the IdP's data, not a token identifier: two assertions carrying the
  // same value would otherwise share one root (revoking one would revoke the other's tokens).
  it('roots a SAML assertion at its own hash, whatever attribute named jti it carries', () => {
    expect(lineageLink(token(TokenTypes.saml2, { jti: 'J1' }), 'raw', 'assertion')).toEqual({
      parent: rootKeyOfToken(IDP, 'raw'),
      known: [subjectKey(IDP, 'alice')],
      role: 'assertion',
    });
  });
});
