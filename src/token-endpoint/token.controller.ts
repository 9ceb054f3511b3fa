import { Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import { TOKEN_ENDPOINT_PATH } from '../metadata/endpoint-paths.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import type { TokenResponse } from './grant-handler.js';
import { formParamsOf } from './token-request-params.js';

@Controller()
export class TokenController {
  constructor(private readonly dispatcher: GrantDispatcher) {}

  @Post(TOKEN_ENDPOINT_PATH)
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @Header('pragma', 'no-cache')
  token(@Req() request: FastifyRequest): Promise<TokenResponse> {
    const audit = newAuditRecord(String(request.id));
    attachAuditRecord(request, audit);
    return this.dispatcher.dispatch({
      params: formParamsOf(request),
      authorization: request.headers.authorization,
      audit,
      dpopProofs: dpopHeaders(request),
    });
  }
}

/**
 * Every `DPoP` header, each occurrence separately: a repeated header must be refused, not joined
 * (RFC 9449 §4.3 check 1). `headersDistinct` is Node's; injected requests may lack it.
 */
function dpopHeaders(request: FastifyRequest): string[] {
  const distinct = (request.raw as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct;
  if (distinct) return distinct.dpop ?? [];
  const value = request.headers.dpop;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
