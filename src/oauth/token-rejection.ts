import { InvalidGrant, InvalidRequest, TemporarilyUnavailable, type OAuthError } from './oauth-error.js';

/** How a token was presented: RFC 8693 subject/actor token, or an RFC 7521 assertion grant's `assertion`. */
export type TokenRole = 'subject' | 'actor' | 'assertion';

/** The request parameter that carried a token in the given role. */
export function tokenParameter(role: TokenRole): string {
  return role === 'assertion' ? 'assertion' : `${role}_token`;
}

/**
 * The error for a presented token that fails validation. RFC 8693 §2.2.2: an invalid subject or actor
 * token is `invalid_request`; RFC 7521 §5.2 / RFC 7522 §3.1 / RFC 7523 §3.1: an invalid assertion in an
 * assertion grant is `invalid_grant`. Validators stay format-specific and role-agnostic by throwing this.
 */
export function tokenRejected(role: TokenRole, message: string, detail?: string): OAuthError {
  const param = tokenParameter(role);
  const ErrorClass = role === 'assertion' ? InvalidGrant : InvalidRequest;
  return new ErrorClass(`${param} ${message}`, { detail: detail && `${param} ${detail}` });
}

/**
 * The error for a presented token that cannot be checked because its issuer's keys (JWKS, SAML metadata)
 * cannot be fetched: the token may well be valid, so the request fails closed but is told to retry (503
 * temporarily_unavailable), as when an introspection endpoint is down, not that its token is bad.
 */
export function tokenUnverifiable(role: TokenRole, message: string, detail: string): OAuthError {
  const param = tokenParameter(role);
  return new TemporarilyUnavailable(`${param} ${message}`, { detail: `${param} ${detail}` });
}
