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
 * A claim of the wrong type is left out rather than passed on, and so is an authentication time after
 * `latest` (now + CLOCK_SKEW): the user cannot have authenticated in the future, and a resource server's
 * max_age check (RFC 9470) would accept such a time until it came.
 */
export function authenticationContext(subject: ValidatedToken, latest: number): AuthenticationContext {
  const believed = (time: unknown): time is number =>
    typeof time === 'number' && Number.isFinite(time) && time <= latest;
  if (subject.tokenType === TokenTypes.saml2) {
    const { instant, contextClass } = subject.authn ?? {};
    return {
      ...(believed(instant) ? { auth_time: instant } : {}),
      ...(contextClass !== undefined ? { acr: contextClass } : {}),
    };
  }
  const { claims } = subject;
  return {
    ...(believed(claims.auth_time) ? { auth_time: claims.auth_time } : {}),
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(isStringArray(claims.amr) ? { amr: [...claims.amr] } : {}),
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
