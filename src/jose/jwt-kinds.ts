import type { JWTPayload } from 'jose';
import { TokenTypes } from '../oauth/token-types.js';

/**
 * RFC 8725 §3.11 (explicit typing): JOSE `typ` values of JWTs that are never a subject, actor or
 * assertion token, whatever type they are presented as. Normalised (lower case, no `application/`).
 */
export const FOREIGN_JWT_TYPES: Readonly<Record<string, string>> = {
  'dpop+jwt': 'a DPoP proof (RFC 9449)',
  'logout+jwt': 'a logout token (OIDC Back-Channel Logout)',
  'secevent+jwt': 'a security event token (RFC 8417)',
  'oauth-id-jag+jwt': 'an ID-JAG (an assertion for the jwt-bearer grant)',
  'client-authentication+jwt': 'a client assertion',
  'token-introspection+jwt': 'an introspection response (RFC 9701)',
  'txntoken+jwt': 'a transaction token',
  'kb+jwt': 'an SD-JWT key binding JWT',
  'entity-statement+jwt': 'an OpenID Federation entity statement',
  'jwt-authorization-grant': 'a JWT authorization grant',
};

/** What a `typ` value says the JWT is, when it is one of FOREIGN_JWT_TYPES (RFC 7515 §4.1.9 comparison). */
export function foreignTypKind(typ: unknown): string | undefined {
  if (typeof typ !== 'string') return undefined;
  const lower = typ.toLowerCase();
  return FOREIGN_JWT_TYPES[lower.startsWith('application/') ? lower.slice('application/'.length) : lower];
}

/** OIDC Back-Channel Logout 1.0 §2.4: the event a logout token carries. */
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Claims only an ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11; FAPI `s_hash`). */
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

/** Claims an ID token never carries: authorization (RFC 9068 §2.2, RFC 8693 §4.2) or a client binding. */
const ACCESS_TOKEN_ONLY_CLAIMS = ['scope', 'scp', 'client_id'] as const;

/**
 * Why a JWT that passed its type's `typ` check still is not of that type, judged by the shape of its
 * claims (RFC 8725 §3.11, last paragraph: where explicit typing is absent, use mutually exclusive
 * claims). Needed because ID tokens and many access tokens share `typ: JWT` or none, and an anchor may
 * be told to accept `JWT` as an access-token typ. Returns undefined when nothing is wrong.
 */
export function foreignShape(tokenType: string, claims: JWTPayload): string | undefined {
  const events = claims.events;
  if (events !== undefined) {
    const logout = typeof events === 'object' && events !== null && BACKCHANNEL_LOGOUT_EVENT in events;
    return logout
      ? 'is a logout token (events claim with the back-channel logout event)'
      : 'is a security event token (events claim)';
  }
  // RFC 9449 §4.2: a DPoP proof's claims. A proof is signed by the client, never by an issuer.
  if (claims.htm !== undefined || claims.htu !== undefined) return 'is a DPoP proof (htm/htu claims)';
  // RFC 7523 §3 / OIDC Core §9: a client assertion has iss = sub = the client (so does a self-issued
  // ID token); a trust anchor never vouches for itself as the subject.
  if (claims.sub !== undefined && claims.sub === claims.iss) {
    return 'has sub equal to iss (a client assertion or self-issued token)';
  }
  if (tokenType === TokenTypes.idToken) {
    const found = ACCESS_TOKEN_ONLY_CLAIMS.find((claim) => claims[claim] !== undefined);
    if (found) return `is not an ID token: it carries ${found}, an access-token claim`;
  } else if (tokenType === TokenTypes.accessToken || tokenType === TokenTypes.jwt) {
    const found = ID_TOKEN_ONLY_CLAIMS.find((claim) => claims[claim] !== undefined);
    if (found) return `is an ID token (it carries ${found}); present it as ${TokenTypes.idToken}`;
  }
  return undefined;
}
