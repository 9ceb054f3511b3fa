import { decodeJwt, type JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { clock } from '../common/clock.js';
import { tokenRejected } from '../oauth/token-rejection.js';

/** What a validated assertion grants, before the delegation core bounds it by client and policy. */
export interface AssertionGrant {
  /** The validated assertion: its anchor's rules (CEL) are evaluated over it; its `exp` bounds the token. */
  readonly token: ValidatedToken;
  /** Scopes the assertion allows at most; undefined: no ceiling beyond the client's `scopes`. */
  readonly scopeCeiling: readonly string[] | undefined;
  /** RFC 8707 resources the assertion allows at most; undefined: the client's `audiences` alone. */
  readonly resourceCeiling: readonly string[] | undefined;
}

/**
 * One profile of the RFC 7523 jwt-bearer grant (RFC 7521 §5.2 + the profile's own rules): validates
 * the `assertion` and says what it grants, or throws invalid_grant (tokenRejected, role 'assertion').
 */
export interface AssertionProfile {
  readonly assertionType: string;
  redeem(assertion: string, client: ClientConfig): Promise<AssertionGrant>;
}

/** `iss` read before verification, only to pick the right refusal; never trusted for anything else. */
export function unverifiedIssuer(assertion: string): string | undefined {
  try {
    const { iss } = decodeJwt(assertion);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RFC 7523 §3 items 4 and 6: the AS MAY reject an `exp` unreasonably far in the future and an `iat`
 * unreasonably far in the past; both are bounded by the anchor's `max_age` (plus its clock skew).
 */
export function checkAssertionAge(
  claims: JWTPayload,
  maxAge: number,
  clockSkew: number,
  fail: (message: string) => never,
): void {
  const now = clock.seconds();
  if (typeof claims.iat === 'number' && now - claims.iat > maxAge + clockSkew) {
    fail(`is too old: issued more than ${maxAge} s ago (iat)`);
  }
  if (typeof claims.exp === 'number' && claims.exp - now > maxAge + clockSkew) {
    fail(`expires too far in the future: more than ${maxAge} s ahead (exp)`);
  }
}

/** Refuses the presented assertion: invalid_grant (RFC 7523 §3.1), `detail` for the audit line only. */
export function rejectAssertion(message: string, detail?: string): never {
  throw tokenRejected('assertion', message, detail);
}
