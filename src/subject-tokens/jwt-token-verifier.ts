import { Injectable } from '@nestjs/common';
import { decodeJwt, errors, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { decodeJoseHeader, verifyJwt } from '../jose/jwt-verify.js';
import { VerifiedSignatures } from '../jose/verified-signatures.js';
import { KeysUnavailableError } from '../trust-anchors/remote-jwks.js';
import type { JwtTrustAnchor } from '../trust-anchors/trust-anchor.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { foreignShape, foreignTypKind } from '../jose/jwt-kinds.js';
import { tokenRejected, tokenUnverifiable } from '../oauth/token-rejection.js';
import { quoted } from '../oauth/error-description.js';
import { tokenTypeName, TokenTypes } from '../oauth/token-types.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';
import { clock } from '../common/clock.js';

/** What distinguishes one JWT token type from another. */
export interface JwtTypeRules {
  readonly tokenType: string;
  /** Accepted JOSE `typ` values, normalised (lower case, no `application/`); '' stands for "no typ". */
  acceptedTyp(anchor: JwtTrustAnchor): readonly string[];
  /** `aud` values this token must carry at least one of; `typ` is the token's, normalised. */
  acceptedAudiences(anchor: JwtTrustAnchor, client: ClientConfig, typ: string): readonly string[];
  /** Type-specific checks after signature and standard claims (e.g. `azp` of an ID token). */
  check?(claims: JWTPayload, client: ClientConfig, fail: (message: string) => never, anchor: JwtTrustAnchor): void;
  /** Claims this type requires beyond `exp` and `sub`. */
  readonly requiredClaims?: readonly string[];
  /** The refusal when no `aud` is accepted (default: names actbridge or the client). */
  audienceRefusal?(client: ClientConfig, typ: string): string | undefined;
}

/**
 * Refuses a token presented as a type its issuer does not issue (the anchor's `token_types`), before
 * anything else is looked at.
 */
export function refuseUnissuedType(anchor: JwtTrustAnchor, tokenType: string, fail: (message: string) => never): void {
  if (!anchor.tokenTypes.includes(tokenType)) {
    fail(
      `type ${tokenTypeName(tokenType)} is not accepted from issuer ${anchor.issuer} (it issues ${anchor.tokenTypes
        .map(tokenTypeName)
        .join(', ')})`,
    );
  }
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies a JWT from a trust anchor: anchor chosen by exact `iss`, signature with the anchor's keys
 * only (never keys named in the token header), algorithm allowlist, `exp`/`nbf`/`iat` (whole seconds,
 * `exp` at most the anchor's `max_token_lifetime` ahead), `typ` (no cross-JWT confusion), `aud`, `sub`.
 * Every failure is invalid_request (RFC 8693 §2.2.2) with a
 * description saying which check failed.
 */
@Injectable()
export class JwtTokenVerifier {
  constructor(
    private readonly anchors: TrustAnchorRegistry,
    private readonly verifiedSignatures: VerifiedSignatures,
  ) {}

  /** `decodedHeader`: the token's header as decodeJoseHeader returned it, when the caller decoded it already. */
  async verify(
    token: string,
    context: ValidationContext,
    rules: JwtTypeRules,
    decodedHeader?: ProtectedHeaderParameters,
  ): Promise<ValidatedToken> {
    const fail = (message: string, detail?: string): never => {
      throw tokenRejected(context.role, message, detail);
    };

    if (!COMPACT_JWS.test(token)) {
      fail(token.split('.').length === 5 ? 'is encrypted (JWE); only signed JWTs are accepted' : 'is not a signed JWT');
    }
    const header = decodedHeader ?? decodeJoseHeader(token);
    if (header === undefined) return fail('is not a well-formed JWT');
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return fail('is not a well-formed JWT');
    }
    if (typeof unverified.iss !== 'string') fail('has no iss claim');
    const anchor = this.anchors.find(unverified.iss!);
    if (!anchor)
      return fail('issuer is not trusted', `issuer ${JSON.stringify(unverified.iss!.slice(0, 200))} is not trusted`);

    refuseUnissuedType(anchor, rules.tokenType, fail);
    if (typeof header.alg !== 'string' || !anchor.algorithms.includes(header.alg)) {
      fail(`alg ${quoted(header.alg)} is not accepted from issuer ${anchor.issuer}`);
    }
    const typ = normaliseTyp(header.typ);
    if (typ === undefined || !rules.acceptedTyp(anchor).includes(typ)) {
      // RFC 8725 §3.11: a JWT of another kind (DPoP proof, logout token, ID-JAG, ...) says so in typ.
      const kind = foreignTypKind(header.typ);
      fail(
        `typ ${header.typ === undefined ? '(none)' : quoted(header.typ)} is not accepted for token type ${rules.tokenType}${kind ? `: it is ${kind}` : ''}`,
      );
    }

    // RFC 7519 §2 allows fractional NumericDates; no issuer needs them, and a non-finite one (1e400 parses
    // as Infinity) would defeat every time check: only whole seconds are accepted. Not a number at all (RFC
    // 7519 §2: a JSON number) is malformed too, which jose would report as "not yet valid" for nbf.
    for (const claim of ['exp', 'nbf', 'iat'] as const) {
      const value: unknown = unverified[claim];
      if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value))) {
        fail(`has a malformed ${claim} claim: a whole number of seconds is required`);
      }
    }

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await verifyJwt(
        token,
        anchor.keys,
        {
          algorithms: [...anchor.algorithms],
          issuer: anchor.issuer,
          clockTolerance: anchor.clockSkew,
          requiredClaims: ['exp', 'sub', ...(rules.requiredClaims ?? [])],
          maxTokenAge: anchor.maxTokenAge,
        },
        header,
        this.verifiedSignatures,
      ));
    } catch (error) {
      // The upstream's URL and error are the operator's: in the detail (audit, log), not the description.
      if (error instanceof KeysUnavailableError) {
        throw tokenUnverifiable(
          context.role,
          `cannot be verified: ${error.description}`,
          `cannot be verified: ${error.message}`,
        );
      }
      return fail(...describeVerificationError(error, header, anchor));
    }

    const now = clock.seconds();
    if (typeof claims.iat === 'number' && claims.iat > now + anchor.clockSkew) fail('was issued in the future (iat)');
    // RFC 7523 §3 item 4 (and RFC 8725 §3.10's caution for every JWT): an expiry unreasonably far ahead.
    if (claims.exp! - now > anchor.maxTokenLifetime + anchor.clockSkew) {
      fail(`expires too far in the future: more than ${anchor.maxTokenLifetime} s ahead (exp)`);
    }
    // RFC 7519 §4.1.2: sub is a StringOrURI; a number is no empty subject but a malformed claim.
    if (typeof claims.sub !== 'string') fail('has a malformed sub claim: a string is required');
    if ((claims.sub as string).length === 0) fail('has an empty sub claim');

    // RFC 8725 §3.11: where typ cannot tell kinds apart (`JWT` or none), their claims can.
    const shape = foreignShape(rules.tokenType, claims);
    if (shape) fail(shape);

    const accepted = rules.acceptedAudiences(anchor, context.client, typ!);
    const audiences: unknown[] = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    // RFC 7519 §4.1.3: a string or an array of strings; a number among them makes the claim malformed.
    if (audiences.some((aud) => typeof aud !== 'string')) fail('has a malformed aud claim');
    if (audiences.length === 0) fail('has no aud claim');
    if (!audiences.some((aud) => accepted.includes(aud as string))) {
      fail(
        rules.audienceRefusal?.(context.client, typ!) ??
          `audience is not accepted: it must name actbridge or client ${context.client.client_id}`,
        `audience ${JSON.stringify(audiences).slice(0, 300)} not in ${JSON.stringify(accepted)}`,
      );
    }
    rules.check?.(claims, context.client, (message) => fail(message), anchor);

    return {
      tokenType: rules.tokenType,
      principal: { sub: claims.sub!, iss: originalIssuer(claims, anchor) },
      anchor,
      claims,
      scope: tokenScope(claims, anchor, rules.tokenType, typ!, fail),
      expiresAt: claims.exp!,
      act: claims.act,
      mayAct: claims.may_act,
    };
  }
}

/** A subject token validator that is one set of JWT rules over the shared verifier. */
@Injectable()
export abstract class JwtRulesValidator implements SubjectTokenValidator {
  protected abstract readonly rules: JwtTypeRules;

  constructor(private readonly verifier: JwtTokenVerifier) {}

  get tokenType(): string {
    return this.rules.tokenType;
  }

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    return this.verifier.verify(token, context, this.rules);
  }
}

/** RFC 7515 §4.1.9: compare case-insensitively, with or without the `application/` prefix. */
export function normaliseTyp(typ: unknown): string | undefined {
  if (typ === undefined) return '';
  if (typeof typ !== 'string') return undefined;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * Tokens actbridge issued carry the subject's original issuer in `sub_id` (RFC 9493 iss_sub); that is
 * believed only from actbridge itself, so a chain keeps naming the principal in its own namespace.
 */
function originalIssuer(claims: JWTPayload, anchor: JwtTrustAnchor): string {
  const subId = claims.sub_id as { format?: unknown; iss?: unknown; sub?: unknown } | undefined;
  if (anchor.self && subId?.format === 'iss_sub' && typeof subId.iss === 'string' && subId.sub === claims.sub) {
    return subId.iss;
  }
  return anchor.issuer;
}

/**
 * Whether the token is an authorization, whose scope claim is all it grants, so that none means no
 * scope: an access token (presented as one, or typed `at+jwt`, RFC 9068 §2.1) and every token actbridge
 * issued (it leaves out an empty scope). Otherwise it is an identity assertion (an ID token, a CI job's
 * JWT): undefined, and its scope comes from the rules and the client's `scopes` (scope-limits.ts).
 */
export function tokenScope(
  claims: JWTPayload,
  anchor: Pick<JwtTrustAnchor, 'self'>,
  tokenType: string,
  typ: string,
  fail: (message: string) => never,
): readonly string[] | undefined {
  const grantsScope = anchor.self || tokenType === TokenTypes.accessToken || typ === 'at+jwt';
  return scopeOf(claims, fail) ?? (grantsScope ? [] : undefined);
}

/** The token's scope: RFC 8693 §4.2 `scope` string, or the widespread `scp` array. */
export function scopeOf(claims: JWTPayload, fail: (message: string) => never): readonly string[] | undefined {
  if (claims.scope !== undefined) {
    if (typeof claims.scope !== 'string') return fail('has a scope claim that is not a string');
    return claims.scope.split(' ').filter(Boolean);
  }
  if (claims.scp !== undefined) {
    if (typeof claims.scp === 'string') return claims.scp.split(' ').filter(Boolean);
    if (Array.isArray(claims.scp) && claims.scp.every((s) => typeof s === 'string')) return claims.scp as string[];
    return fail('has a malformed scp claim');
  }
  return undefined;
}

function describeVerificationError(
  error: unknown,
  header: ProtectedHeaderParameters,
  anchor: Pick<JwtTrustAnchor, 'maxTokenAge'>,
): [string, string?] {
  // jose reports an iat older than maxTokenAge (the anchor's max_token_age) as JWTExpired, claim iat.
  if (error instanceof errors.JWTExpired && error.claim === 'iat') {
    return [`is too old: issued more than ${anchor.maxTokenAge} s ago (iat)`];
  }
  if (error instanceof errors.JWTExpired) return ['has expired'];
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return [`has no ${error.claim} claim`];
    if (error.claim === 'nbf') return ['is not yet valid (nbf)'];
    if (error.claim === 'iat') return [`iat is not acceptable: ${error.reason}`];
    if (error.claim === 'iss') return ['iss does not match its issuer'];
    return [`has an invalid ${error.claim} claim`];
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return [`was signed with a key its issuer does not publish (kid ${quoted(header.kid ?? null)})`];
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    // Refused rather than tried in turn: which key the issuer meant is not known (RFC 7515 §4.1.4).
    return [
      header.kid === undefined
        ? 'names no kid and its issuer publishes several keys'
        : `kid ${quoted(header.kid)} names several keys its issuer publishes`,
    ];
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return ['signature is invalid'];
  if (error instanceof errors.JOSEAlgNotAllowed) return [`alg ${quoted(header.alg)} is not accepted`];
  if (error instanceof errors.JOSENotSupported) return ['uses an unsupported JOSE feature', (error as Error).message];
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) {
    return ['is not a valid JWT', (error as Error).message];
  }
  return ['could not be verified', error instanceof Error ? error.message : String(error)];
}
