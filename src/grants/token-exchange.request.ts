import { IsArray, IsOptional, IsString, Matches, registerDecorator, type ValidationOptions } from 'class-validator';
import { SCOPE_LIST } from '../config/config-validators.js';
import { InvalidRequest, InvalidScope, InvalidTarget } from '../oauth-errors/oauth-error.js';
import type { TokenRequestParams } from '../token-endpoint/token-request-params.js';
import { validateRequest } from '../token-endpoint/validate-request.js';

/** The OAuth error a failed field check maps to (carried in class-validator's `context`). */
const asTarget = { context: { error: InvalidTarget } };
const asScope = { context: { error: InvalidScope } };

/** RFC 8707 §2 / RFC 8693 §2.1: an absolute URI without a fragment. */
export function IsResourceIndicator(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isResourceIndicator',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: 'resource must be an absolute URI without a fragment', ...options },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string' || value.includes('#')) return false;
          try {
            return new URL(value).protocol.length > 1;
          } catch {
            return false;
          }
        },
      },
    });
}

/**
 * The parameters of an RFC 8693 §2.1 request, and nothing else (client credentials are handled before,
 * unknown parameters are dropped here).
 */
export class TokenExchangeRequest {
  @IsString({ message: 'subject_token is required' })
  subject_token!: string;

  @IsString({ message: 'subject_token_type is required' })
  subject_token_type!: string;

  @IsOptional()
  @IsString()
  actor_token?: string;

  @IsOptional()
  @IsString()
  actor_token_type?: string;

  @IsOptional()
  @Matches(SCOPE_LIST, {
    message: 'scope must be space-separated RFC 6749 scope-tokens',
    ...asScope,
  })
  scope?: string;

  @IsOptional()
  @IsString()
  requested_token_type?: string;

  @IsArray()
  @IsString({ each: true })
  audience: string[] = [];

  @IsArray()
  @IsResourceIndicator({ each: true, ...asTarget })
  resource: string[] = [];

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
    });
    validateRequest(request);
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

  get requestedScope(): string[] | undefined {
    return this.scope?.split(' ');
  }
}
