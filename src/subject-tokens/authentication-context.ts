import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken } from './validated-token.js';

/** How the subject authenticated (OIDC Core §2): what RFC 9068 §2.2.1 and ID-JAG §3.1 carry forward. */
export interface AuthenticationContext {
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: string[];
}

/**
 * A presented subject's `auth_time`, `acr` and `amr`: a JWT's own claims (an ID token, an access token,
 * an ID-JAG, one of ours, so they survive a chain unchanged); for a SAML assertion its AuthnStatement
 * (AuthnInstant, AuthnContextClassRef), never its attributes, which say nothing about authentication.
 * A claim of the wrong type is left out rather than passed on.
 */
export function authenticationContext(subject: ValidatedToken): AuthenticationContext {
  if (subject.tokenType === TokenTypes.saml2) {
    const { instant, contextClass } = subject.authn ?? {};
    return {
      ...(instant !== undefined ? { auth_time: instant } : {}),
      ...(contextClass !== undefined ? { acr: contextClass } : {}),
    };
  }
  const { claims } = subject;
  return {
    ...(typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time)
      ? { auth_time: claims.auth_time }
      : {}),
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(isStringArray(claims.amr) ? { amr: [...claims.amr] } : {}),
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
