import { errors, type JWTPayload } from 'jose';
import { AccessTokenError } from './access-token-error.js';
import type { Actor, VerifyOptions } from './actbridge-verifier.js';

const MAX_CHAIN = 32;

/** The `act` chain, outermost (current) actor first. */
export function actorChain(act: unknown): Actor[] {
  const chain: Actor[] = [];
  for (let level = act; level !== undefined; level = (level as { act?: unknown }).act) {
    if (typeof level !== 'object' || level === null || Array.isArray(level) || chain.length >= MAX_CHAIN) {
      throw new AccessTokenError('invalid_token', 'token act claim is malformed');
    }
    const { sub, iss, client_id: clientId, attested_by: attestedBy } = level as Record<string, unknown>;
    if (typeof sub !== 'string')
      throw new AccessTokenError('invalid_token', 'token act claim has an actor without sub');
    chain.push({
      sub,
      ...(typeof iss === 'string' ? { iss } : {}),
      ...(typeof clientId === 'string' ? { client_id: clientId } : {}),
      ...(typeof attestedBy === 'string' ? { attested_by: attestedBy } : {}),
    });
  }
  return chain;
}

export function describeJwtError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'token is not addressed to this resource (aud)';
    if (error.claim === 'iss') return 'token was not issued by the expected issuer';
    if (error.claim === 'typ') return 'token is not an access token (typ must be at+jwt)';
    if (error.reason === 'missing') return `token has no ${error.claim} claim`;
    return `token ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'token is signed with a key the issuer does not publish';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token alg is not accepted';
  return 'token is malformed or cannot be verified';
}

/** RFC 9470 §3: the login behind the token is not the one this request needs: 401 with what would do. */
export function checkLogin(
  claims: JWTPayload,
  options: VerifyOptions,
  clockTolerance: number,
): { acr: string | undefined; authTime: number | undefined } {
  const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
  const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : undefined;
  const { acrValues, maxAge } = options;
  if (acrValues !== undefined && acrValues.length > 0 && (acr === undefined || !acrValues.includes(acr))) {
    throw new AccessTokenError(
      'insufficient_user_authentication',
      'a stronger authentication is required',
      undefined,
      undefined,
      false,
      { acrValues: acrValues.join(' ') },
    );
  }
  if (maxAge !== undefined && (authTime === undefined || Date.now() / 1000 - authTime > maxAge + clockTolerance)) {
    throw new AccessTokenError(
      'insufficient_user_authentication',
      'a more recent authentication is required',
      undefined,
      undefined,
      false,
      { maxAge },
    );
  }
  return { acr, authTime };
}
