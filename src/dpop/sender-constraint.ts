import { tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { DpopBinding } from './dpop-proof.js';

/** A base64url-encoded SHA-256 digest (RFC 4648 §5, no padding): 32 bytes, 43 characters. */
const JKT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * The key a presented token is bound to (RFC 9449 §6: `cnf.jkt`), or undefined for a token without
 * `cnf`. A `cnf` that no request can satisfy is refused here: a malformed one, or one with any other
 * confirmation method (e.g. RFC 8705 `x5t#S256`), which cannot be verified here. Shared by the token
 * endpoint (enforceSenderConstraint) and the policy tools (PolicyCheck), so both read `cnf` alike.
 */
export function senderConstraint(token: ValidatedToken, role: TokenRole): string | undefined {
  const cnf = token.claims.cnf as unknown;
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))
    throw tokenRejected(role, 'has a malformed cnf claim');
  const members = Object.keys(cnf);
  const jkt = (cnf as Record<string, unknown>).jkt;
  if (members.some((m) => m !== 'jkt')) {
    throw tokenRejected(role, 'is sender-constrained by a method actbridge cannot verify (only cnf.jkt is supported)');
  }
  // RFC 9449 §6.1: the base64url SHA-256 JWK thumbprint (RFC 7638) of the key, 43 characters; no proof's
  // key has any other, so a token bound to another value could never be used.
  if (typeof jkt !== 'string' || !JKT.test(jkt)) throw tokenRejected(role, 'has a malformed cnf.jkt claim');
  return jkt;
}

/**
 * A presented token that is sender-constrained (RFC 9449 §6: `cnf.jkt`) may only be used by the holder
 * of its key: the request must carry a DPoP proof by that same key (specs §6.3 guidance for a
 * token-exchange STS; ID-JAG §9.8 for an assertion). Tokens without `cnf` pass.
 *
 * Refusals are the role's token error: `invalid_request` for subject/actor tokens (RFC 8693 §2.2.2),
 * `invalid_grant` for an assertion (RFC 7521 §5.2; the ID-JAG DPoP table).
 */
export function enforceSenderConstraint(token: ValidatedToken, dpop: DpopBinding | undefined, role: TokenRole): void {
  const jkt = senderConstraint(token, role);
  if (jkt === undefined) return;
  if (dpop === undefined) {
    throw tokenRejected(
      role,
      'is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key',
    );
  }
  if (dpop.jkt !== jkt) throw tokenRejected(role, 'is DPoP-bound to a different key than the DPoP proof');
}
