import { registerDecorator, type ValidationOptions } from 'class-validator';
import { InvalidRequest, InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { SCOPE_LIST } from '../oauth/scope.js';
import { TokenTypes } from '../oauth/token-types.js';

/** Token types a token exchange (other than ID-JAG) can issue; both are the same RFC 9068 JWT access token. */
const ISSUABLE_TYPES: readonly string[] = [TokenTypes.accessToken, TokenTypes.jwt];

/** RFC 3986 §4.3 absolute-URI: scheme ":" then unreserved, reserved (but `#`) and pct-encoded characters only. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?[\]]|%[0-9A-Fa-f]{2})*$/;

/** RFC 8707 §2 / RFC 8693 §2.1: an absolute URI without a fragment. */
export function isResourceIndicator(value: unknown): boolean {
  // RFC 3986 syntax first: the URL parser below strips white space and controls and escapes what it must.
  if (typeof value !== 'string' || !ABSOLUTE_URI.test(value)) return false;
  try {
    return new URL(value).protocol.length > 1;
  } catch {
    return false;
  }
}

/** RFC 8707 §2 / RFC 8693 §2.1: an absolute URI without a fragment (class-validator form). */
export function IsResourceIndicator(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isResourceIndicator',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: 'resource must be an absolute URI without a fragment', ...options },
      validator: { validate: isResourceIndicator },
    });
}

/**
 * The parameters of an RFC 8693 §2.1 request, and nothing else (client credentials are handled before,
 * unknown parameters are dropped here). Checked by hand, not by class-validator: this is the hot path,
 * and every parameter already arrives as one string or none (TokenRequestParams).
 */
export class TokenExchangeRequest {
  subject_token!: string;
  subject_token_type!: string;
  actor_token?: string;
  actor_token_type?: string;
  scope?: string;
  requested_token_type?: string;
  audience: string[] = [];
  resource: string[] = [];
  /** RFC 9396, which ID-JAG §4.3 lets the client send; read only so that an ID-JAG request can refuse it. */
  authorization_details?: string;

  /** Reads and validates the grant's parameters; throws the OAuth error the first failed check calls for. */
  static from(params: TokenRequestParams): TokenExchangeRequest {
    const request = Object.assign(new TokenExchangeRequest(), {
      subject_token: params.single('subject_token'),
      subject_token_type: params.single('subject_token_type'),
      actor_token: params.single('actor_token'),
      actor_token_type: params.single('actor_token_type'),
      scope: params.single('scope'),
      requested_token_type: params.single('requested_token_type'),
      audience: params.multi('audience'),
      resource: params.multi('resource'),
      authorization_details: params.single('authorization_details'),
    });
    // RFC 8693 §2.1: both REQUIRED.
    if (request.subject_token === undefined) throw new InvalidRequest('subject_token is required');
    if (request.subject_token_type === undefined) throw new InvalidRequest('subject_token_type is required');
    // RFC 6749 §3.3: scope-tokens separated by single spaces.
    if (request.scope !== undefined && !SCOPE_LIST.test(request.scope)) {
      throw new InvalidScope('scope must be space-separated RFC 6749 scope-tokens');
    }
    // RFC 8707 §2: invalid_target for a resource that is not an absolute URI without a fragment.
    if (!request.resource.every(isResourceIndicator)) {
      throw new InvalidTarget('resource must be an absolute URI without a fragment');
    }
    // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
    if ((request.actor_token === undefined) !== (request.actor_token_type === undefined)) {
      throw new InvalidRequest(
        request.actor_token === undefined
          ? 'actor_token_type must not be sent without actor_token'
          : 'actor_token_type is required with actor_token',
      );
    }
    return request;
  }

  /**
   * RFC 8693 §2.1 `requested_token_type` of an access-token exchange: the type issued (default an access
   * token), or invalid_request for one this server cannot issue. The token endpoint and explain both ask.
   */
  issuedTokenType(): string {
    const issued = this.requested_token_type ?? TokenTypes.accessToken;
    if (!ISSUABLE_TYPES.includes(issued)) {
      throw new InvalidRequest(`unsupported requested_token_type; supported: ${ISSUABLE_TYPES.join(', ')}`);
    }
    return issued;
  }

  get requestedScope(): string[] | undefined {
    return this.scope?.split(' ');
  }
}
