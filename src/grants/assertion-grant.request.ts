import { IsArray, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { validateRequest } from '../oauth/validate-request.js';
import { IsResourceIndicator } from './token-exchange.request.js';
import { SCOPE_LIST } from '../oauth/scope.js';

const asTarget = { context: { error: InvalidTarget } };
const asScope = { context: { error: InvalidScope } };

/**
 * The parameters of an RFC 7521 §4.1 assertion grant: `assertion`, optional `scope`, and the targets
 * as in token exchange: `resource` (RFC 8707) and `audience` (else the client's default audience).
 */
export class AssertionGrantRequest {
  @IsString({ message: 'assertion is required' })
  @MinLength(1, { message: 'assertion is required' })
  assertion!: string;

  @IsOptional()
  @Matches(SCOPE_LIST, { message: 'scope must be space-separated RFC 6749 scope-tokens', ...asScope })
  scope?: string;

  @IsArray()
  @IsString({ each: true })
  audience: string[] = [];

  @IsArray()
  @IsResourceIndicator({ each: true, ...asTarget })
  resource: string[] = [];

  static from(params: TokenRequestParams): AssertionGrantRequest {
    const request = Object.assign(new AssertionGrantRequest(), {
      assertion: params.single('assertion'),
      scope: params.single('scope'),
      audience: params.multi('audience'),
      resource: params.multi('resource'),
    });
    validateRequest(request);
    return request;
  }

  get requestedScope(): string[] | undefined {
    return this.scope?.split(' ');
  }
}
