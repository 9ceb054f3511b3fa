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

/** An access token from the anchor, without jti. */
const anchorToken = () => token(TokenTypes.accessToken, { iss: IDP, sub: 'alice' });

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A JWS-shaped token; its 64-byte signature segment ends in a character with 4 spare bits. */
const jws = (payload: unknown, signature = 'A'.repeat(85) + 'Q') =>
  `${b64({ alg: 'ES256' })}.${b64(payload)}.${signature}`;
/** The same 64 bytes with the spare trailing bits set (RFC 4648 §3.5): another string, one signature. */
const respelled = (token: string) => {
  const last = ALPHABET.indexOf(token.at(-1)!);
  return `${token.slice(0, -1)}${ALPHABET[last | 0b1111]}`;
};

describe('lineageLink of a token without jti', () => {
  it('names a JWS by what was signed: a respelled signature is the same root', () => {
    const raw = jws({ sub: 'alice' });
    const other = respelled(raw);
    expect(other).not.toBe(raw);
    expect(Buffer.from(other.split('.')[2]!, 'base64url')).toEqual(Buffer.from(raw.split('.')[2]!, 'base64url'));
    expect(lineageLink(anchorToken(), other, 'subject').parent).toBe(lineageLink(anchorToken(), raw, 'subject').parent);
  });

  it('names JWSs of different content by different roots', () => {
    expect(lineageLink(anchorToken(), jws({ sub: 'alice', n: 1 }), 'subject').parent).not.toBe(
      lineageLink(anchorToken(), jws({ sub: 'alice', n: 2 }), 'subject').parent,
    );
  });

  it('names an opaque token (no JOSE header) by all of it, dots included', () => {
    expect(lineageLink(anchorToken(), 'abc.def.ghi', 'subject').parent).toBe(rootKeyOfToken(IDP, 'abc.def.ghi'));
    expect(lineageLink(anchorToken(), 'abc.def.ghj', 'subject').parent).not.toBe(
      lineageLink(anchorToken(), 'abc.def.ghi', 'subject').parent,
    );
  });
});
