import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import { formRoute, type HttpRoute, type RouteProvider } from '../http/http-route.js';
import { TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { formParamsOf } from '../oauth/request-params.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import { type TokenResponse } from '../oauth/token-response.js';
import { endRequestSpan, startRequestSpan, withinRequest } from '../observability/tracing.js';

/**
 * `POST /oauth/token`. The request's audit record is attached to it first, so that a refusal, answered
 * by the error mapping, is audited with everything the grant established before it failed.
 */
@Injectable()
export class TokenRoute implements RouteProvider {
  constructor(private readonly dispatcher: GrantDispatcher) {}

  routes(): HttpRoute[] {
    return [formRoute('token', TOKEN_ENDPOINT_PATH, true, (request) => this.token(request))];
  }

  private async token(request: FastifyRequest): Promise<TokenResponse> {
    // The server span of the request (a child of the caller's traceparent); its trace id is audited.
    const span = startRequestSpan('POST /oauth/token', request.headers);
    const audit = newAuditRecord(request, span.traceId);
    attachAuditRecord(request, audit);
    let failure: unknown;
    try {
      return await withinRequest(span, () =>
        this.dispatcher.dispatch({
          params: formParamsOf(request),
          authorization: request.headers.authorization,
          audit,
          dpopProofs: dpopHeaders(request),
        }),
      );
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      if (audit.grant_type !== undefined) span.span.setAttribute('oauth.grant_type', audit.grant_type);
      if (audit.client_id !== undefined) span.span.setAttribute('oauth.client_id', audit.client_id);
      endRequestSpan(span, failure);
    }
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
