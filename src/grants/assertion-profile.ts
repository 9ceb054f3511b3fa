import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { decodeJwt, type JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { consumeOnce } from '../stores/replay-guard.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { JwtTokenVerifier } from '../subject-tokens/jwt-token-verifier.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { JwtTrustAnchor } from '../trust-anchors/trust-anchor.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
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
  /**
   * Spends the assertion when its issuer makes it single use (its `jti`), refusing a replay; called
   * only once every other check has passed, so that a refused request leaves it usable.
   */
  readonly spend: () => Promise<void>;
}

/** `spend` of an assertion that may be presented again. */
export const reusable = async (): Promise<void> => undefined;

/**
 * One profile of the RFC 7523 jwt-bearer grant (RFC 7521 §5.2 + the profile's own rules): validates
 * the `assertion` and says what it grants, or throws invalid_grant (tokenRejected, role 'assertion').
 * A single-use assertion is not spent here but by the grant's `spend`, once nothing else refuses it.
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

/** The trust anchor sections that admit a JWT assertion, by their name in the configuration. */
const SECTION_NAMES = { jwtBearer: 'jwt_bearer', idJag: 'id_jag' } as const;
type SectionKey = keyof typeof SECTION_NAMES;

/**
 * What the JWT assertion profiles share: the verifier, the trust anchors whose section (`jwt_bearer:`,
 * `id_jag:`) admits the assertion, the replay store for single-use `jti`s, and actbridge's issuer.
 */
@Injectable()
export abstract class JwtAssertionProfile implements AssertionProfile {
  abstract readonly assertionType: string;
  protected readonly issuer: string;

  constructor(
    protected readonly verifier: JwtTokenVerifier,
    private readonly anchors: TrustAnchorRegistry,
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    @Inject(SERVER_CONFIG) { issuer }: ServerConfig,
  ) {
    this.issuer = issuer;
  }

  abstract redeem(assertion: string, client: ClientConfig): Promise<AssertionGrant>;

  /** The anchor of the assertion's unverified `iss`, only to pick the right refusal before any work. */
  protected knownIssuer(assertion: string): JwtTrustAnchor | undefined {
    const claimed = unverifiedIssuer(assertion);
    return claimed === undefined ? undefined : this.anchors.find(claimed);
  }

  /**
   * A known issuer that has not opted in to this profile (its anchor has no `key` section) is refused
   * as `refusal` before any further work. Unknown issuers are refused by the verifier.
   */
  protected refuseOutsider(known: JwtTrustAnchor | undefined, key: SectionKey, refusal: string): void {
    if (known && !known[key]) {
      rejectAssertion(
        refusal,
        `issuer ${JSON.stringify(known.issuer.slice(0, 200))} has no ${SECTION_NAMES[key]} section`,
      );
    }
  }

  /** The verified assertion's anchor section (refused as `refusal` without one), its age bounds checked. */
  protected sectionOf<K extends SectionKey>(
    token: ValidatedToken,
    key: K,
    refusal: string,
  ): NonNullable<JwtTrustAnchor[K]> {
    const anchor = token.anchor;
    const section = anchor.kind === 'jwt' ? anchor[key] : undefined;
    if (!section) return rejectAssertion(refusal);
    checkAssertionAge(token.claims, section.max_age, anchor.clockSkew, rejectAssertion);
    return section;
  }

  /** Single use of the assertion's `jti` under `prefix`, remembered until its `exp` (plus clock skew). */
  protected async consumeJti(prefix: string, token: ValidatedToken, jti: string, what: string): Promise<void> {
    // RFC 7519 §4.1.7: a jti is unique per issuer, so it is remembered under the issuer, never under the
    // anchor's name, which a rename (or a replica still on the old files) changes (as SAML IDs: saml2.validator).
    const key = `${prefix}:${createHash('sha256').update(`${token.anchor.issuer}\n${jti}`).digest('base64url')}`;
    const fresh = await consumeOnce(this.replay, key, token.expiresAt + token.anchor.clockSkew, what);
    if (!fresh) rejectAssertion('has already been used (jti replay)');
  }
}
