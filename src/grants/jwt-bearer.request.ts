import { IsArray, IsOptional, IsString, Matches } from 'class-validator';
import { InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { validateRequest } from '../oauth/validate-request.js';
import { IsResourceIndicator } from './token-exchange.request.js';
import { SCOPE_LIST } from '../oauth/scope.js';

/** The parameters of an RFC 7523 §2.1 request (plus RFC 8707 `resource`), and nothing else. */
export class JwtBearerRequest {
  /** RFC 7523 §2.1: exactly one JWT (TokenRequestParams.single() refuses a repeated one). */
  @IsString({ message: 'assertion is required' })
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

  static from(params: TokenRequestParams): JwtBearerRequest {
    const request = Object.assign(new JwtBearerRequest(), {
      assertion: params.single('assertion'),
      scope: params.single('scope'),
      resource: params.multi('resource'),
    });
    validateRequest(request);
    return request;
  }

  get requestedScope(): string[] | undefined {
    return this.scope?.split(' ');
  }
}
