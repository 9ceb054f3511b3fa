import { Injectable } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { TemporarilyUnavailable } from '../oauth/oauth-error.js';
import { quoted } from '../oauth/error-description.js';
import {
  IntrospectionFailedError,
  IntrospectionSheddingError,
  IntrospectionUnavailableError,
} from '../trust-anchors/token-introspector.js';
import type { JwtTrustAnchor } from '../trust-anchors/trust-anchor.js';
import { acceptedAudiences } from './audiences.js';
import { refuseUnissuedType } from './jwt-token-verifier.js';
import { tokenParameter, tokenRejected } from '../oauth/token-rejection.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';
import { clock } from '../common/clock.js';

/** Longest opaque token sent to an introspection endpoint. */
export const MAX_OPAQUE_TOKEN_LENGTH = 4096;

/** RFC 6750 §2.1 b64token: the characters a bearer token is made of. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * An opaque access token, validated by RFC 7662 introspection at the trust anchor the presenting
 * client is bound to (`introspection.clients`). Reached from AccessTokenValidator only.
 */
@Injectable()
export class OpaqueAccessTokenValidator {
  async validate(token: string, context: ValidationContext, anchor: JwtTrustAnchor): Promise<ValidatedToken> {
    const fail = (message: string, detail?: string): never => {
      throw tokenRejected(context.role, message, detail);
    };
    if (token.length > MAX_OPAQUE_TOKEN_LENGTH || !B64TOKEN.test(token)) {
      fail('is neither a JWT nor a well-formed opaque token');
    }
    refuseUnissuedType(anchor, TokenTypes.accessToken, fail);

    let answer: Readonly<Record<string, unknown>>;
    try {
      answer = await anchor.introspection!.introspect(token);
    } catch (error) {
      if (error instanceof IntrospectionSheddingError) {
        // Not called (it keeps timing out, or too many calls wait for it): the token is not accepted unconfirmed.
        throw new TemporarilyUnavailable(
          `${tokenParameter(context.role)} cannot be validated now: the introspection endpoint of issuer ${anchor.issuer} is not answering in time; retry later`,
          { detail: error.message, headers: { 'retry-after': String(error.retryAfter) } },
        );
      }
      if (error instanceof IntrospectionUnavailableError) {
        // The token may well be valid: fail closed, but say "retry", not "your token is bad".
        throw new TemporarilyUnavailable(
          `${tokenParameter(context.role)} cannot be validated now: the introspection endpoint of issuer ${anchor.issuer} is unavailable`,
          { detail: error.message },
        );
      }
      if (error instanceof IntrospectionFailedError) {
        return fail(`could not be introspected at issuer ${anchor.issuer}`, error.message);
      }
      throw error;
    }

    const checked = checkIntrospection(answer, {
      anchor,
      client: context.client,
      requireTokenType: anchor.introspection!.requireTokenType,
      now: clock.seconds(),
    });
    if (typeof checked === 'string') return fail(checked);
    const claims = checked;
    return {
      tokenType: TokenTypes.accessToken,
      principal: { sub: claims.sub!, iss: anchor.issuer },
      anchor,
      claims,
      // RFC 7662 §2.2: an access token whose introspection names no scope grants none.
      scope: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [],
      expiresAt: claims.exp!,
      act: claims.act,
      mayAct: claims.may_act,
    };
  }
}

export interface IntrospectionCheckContext {
  readonly anchor: Pick<
    JwtTrustAnchor,
    'issuer' | 'audiences' | 'clientIds' | 'self' | 'clockSkew' | 'maxTokenAge' | 'maxTokenLifetime'
  >;
  readonly client: ClientConfig;
  readonly requireTokenType: boolean;
  /** Epoch seconds. */
  readonly now: number;
}

/**
 * RFC 7662 §2.2 answer → the token's claims, or why it is refused. As strict as RFC 7662 and RFC 9068
 * allow: members RFC 7662 leaves optional are checked whenever present, and those the exchange cannot
 * do without (`exp` to cap the lifetime, `sub` for the principal, `aud` for our audience rule,
 * `client_id` as RFC 9068 §2.2 requires of an access token) are required.
 */
export function checkIntrospection(
  answer: Readonly<Record<string, unknown>>,
  ctx: IntrospectionCheckContext,
): JWTPayload | string {
  const { anchor, now } = ctx;
  const skew = anchor.clockSkew;
  if (answer.active !== true) return 'is not active (introspection)';
  // RFC 7662 §2.2 `iss`: when given, it must be the issuer the token was routed to.
  if (answer.iss !== undefined && answer.iss !== anchor.issuer) return 'introspection names another issuer';

  // RFC 7662 §2.2 `token_type` (RFC 6749 §7.1): a refresh token or any other kind must not pass.
  const tokenType = answer.token_type;
  if (tokenType === undefined) {
    if (ctx.requireTokenType) return 'introspection does not say it is an access token (no token_type)';
  } else if (typeof tokenType !== 'string') {
    return 'introspection has a malformed token_type';
  } else if (tokenType.toLowerCase() === 'dpop') {
    return 'is DPoP-bound; sender-constrained tokens are not accepted';
  } else if (tokenType.toLowerCase() !== 'bearer') {
    return `is not an access token (token_type ${quoted(tokenType.slice(0, 40))})`;
  }
  // Ory Hydra's `token_use` says the same more plainly.
  if (answer.token_use !== undefined && answer.token_use !== 'access_token') {
    return 'is not an access token (token_use)';
  }
  // RFC 9449 §6.2 / RFC 8705 §3.2: actbridge cannot check proof of possession for someone else's key.
  if (answer.cnf !== undefined) return 'is sender-constrained (cnf); sender-constrained tokens are not accepted';

  for (const claim of ['exp', 'nbf', 'iat']) {
    const value = answer[claim];
    // RFC 7662 §2.2 / RFC 7519 §2: a JSON number; a string exp or nbf is malformed, not absent or "not yet valid".
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value))) {
      return `introspection has a malformed ${claim}: a whole number of seconds is required`;
    }
  }
  if (typeof answer.exp !== 'number') return 'introspection has no exp';
  if (answer.exp <= now - skew) return 'has expired';
  if (answer.exp - now > anchor.maxTokenLifetime + skew) {
    return `expires too far in the future: more than ${anchor.maxTokenLifetime} s ahead (exp)`;
  }
  if (answer.nbf !== undefined && (typeof answer.nbf !== 'number' || answer.nbf > now + skew)) {
    return 'is not yet valid (nbf)';
  }
  if (answer.iat !== undefined) {
    if (typeof answer.iat !== 'number' || answer.iat > now + skew) return 'was issued in the future (iat)';
    if (anchor.maxTokenAge !== undefined && answer.iat < now - anchor.maxTokenAge - skew) return 'is too old (iat)';
  }

  // RFC 7662 §2.2: sub and client_id are strings, aud a string or an array of strings (RFC 7519 §4.1.3);
  // another JSON type is a malformed member, not a missing one.
  for (const member of ['sub', 'client_id'] as const) {
    const value = answer[member];
    if (value !== undefined && typeof value !== 'string')
      return `introspection has a malformed ${member}: a string is required`;
    if (!value) return `introspection has no ${member}`;
  }
  const audiences = typeof answer.aud === 'string' ? [answer.aud] : answer.aud;
  if (audiences === undefined || (Array.isArray(audiences) && audiences.length === 0))
    return 'introspection has no aud';
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string')) {
    return 'introspection has a malformed aud';
  }
  const accepted = acceptedAudiences(anchor as JwtTrustAnchor, ctx.client);
  if (!audiences.some((aud) => accepted.includes(aud))) {
    return `audience is not accepted: it must name actbridge or client ${ctx.client.client_id}`;
  }
  if (answer.scope !== undefined && typeof answer.scope !== 'string') return 'introspection has a malformed scope';

  // What remains is the token's claims (RFC 7662 §2.2 members are JWT claim names), from its issuer.
  const { active: _active, ...claims } = answer;
  return { ...claims, iss: anchor.issuer } as JWTPayload;
}
