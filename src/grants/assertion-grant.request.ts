import { IsArray, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { validateRequest } from '../oauth/validate-request.js';
import { IsResourceIndicator } from './token-exchange.request.js';
import { SCOPE_LIST } from '../oauth/scope.js';

/**
 * What the assertion grants' requests share (RFC 7521 §4.1): one `assertion`, an optional `scope`
 * (RFC 6749 §3.3) and the `resource` indicators (RFC 8707), each refused with its own error.
 */
export abstract class AssertionRequestBase {
  /** Exactly one (TokenRequestParams.single() refuses a repeated one). */
  @IsString({ message: 'assertion is required' })
  @MinLength(1, { message: 'assertion is required' })
  assertion!: string;

  @IsOptional()
  @Matches(SCOPE_LIST, {
    message: 'scope must be space-separated RFC 6749 scope-tokens',
    context: { error: InvalidScope },
  })
  scope?: string;

  @IsArray()
  @IsResourceIndicator({ each: true, context: { error: InvalidTarget } })
  resource: string[] = [];

  get requestedScope(): string[] | undefined {
    return this.scope?.split(' ');
  }

  /** Reads the shared parameters into `request` (which holds its own ones already), then validates it. */
  protected static read<T extends AssertionRequestBase>(request: T, params: TokenRequestParams): T {
    return validateRequest(
      Object.assign(request, {
        assertion: params.single('assertion'),
        scope: params.single('scope'),
        resource: params.multi('resource'),
      }),
    );
  }
}

/**
 * The parameters of an RFC 7522 saml2-bearer request: the shared ones, and the targets as in token
 * exchange: `resource` (RFC 8707) and `audience` (else the client's default audience).
 */
export class AssertionGrantRequest extends AssertionRequestBase {
  @IsArray()
  @IsString({ each: true })
  audience: string[] = [];

  static from(params: TokenRequestParams): AssertionGrantRequest {
    const request = new AssertionGrantRequest();
    request.audience = params.multi('audience');
    return AssertionRequestBase.read(request, params);
  }
}
