import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import { TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { OAuthExceptionFilter } from '../http/oauth-exception.filter.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import type { TokenResponse } from '../grants/grant-handler.js';
import { formParamsOf } from '../oauth/request-params.js';

/**
 * `POST /oauth/token`, registered as a plain Fastify route rather than a Nest controller: every token
 * request is on the hot path of an exchange, and Nest's per-request pipeline (guard, pipe and
 * interceptor plumbing, response controller) had nothing to do for it. Everything else is the same as
 * for a controller route: the route lives on the adapter's Fastify instance, so the issuer-path rewrite,
 * body limit, form parser and Fastify hooks apply; errors raised before the handler (body too large,
 * wrong content type) go to Fastify's error handler, which Nest routes to the global exception filter;
 * errors of the handler go to that same filter instance directly, as Nest's router would pass them.
 * Other methods at this path stay unrouted and the filter answers them 405 with `Allow: POST`.
 */
@Injectable()
export class TokenRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly dispatcher: GrantDispatcher,
    private readonly errors: OAuthExceptionFilter,
  ) {}

  /** Runs while Nest registers its routes, before it installs its not-found and error handlers. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post(TOKEN_ENDPOINT_PATH, (request, reply) => this.token(request, reply));
  }

  private async token(request: FastifyRequest, reply: FastifyReply): Promise<TokenResponse | FastifyReply> {
    const audit = newAuditRecord(request);
    attachAuditRecord(request, audit);
    try {
      const response = await this.dispatcher.dispatch({
        params: formParamsOf(request),
        authorization: request.headers.authorization,
        audit,
        dpopProofs: dpopHeaders(request),
      });
      void reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache');
      return response;
    } catch (error) {
      this.errors.respond(error, request, reply);
      return reply;
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
