import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditRecordOf, newAuditRecord } from '../audit/audit-record.js';
import { AuditTrail, isVaultEvent } from '../audit/audit-trail.js';
import { cutAtDrainDeadline } from './drain.js';
import { requestTimedOut } from './http-client-error.js';
import { stepOf } from '../observability/tracing.js';
import type { RouteConfig } from './route-registry.js';
import { errorDescription } from '../oauth/error-description.js';
import { InvalidRequest, NotFound, OAuthError, ServerError } from '../oauth/oauth-error.js';

/**
 * The one place errors become HTTP responses: RFC 6749 §5.2 JSON with `Cache-Control: no-store`.
 * Every error reaches it the same way: a route handler throws (or Fastify refuses the request before
 * it), and Fastify's error handler, which Nest installs, hands it to this global filter; unknown paths
 * come as Nest's not-found. Anything that is not an OAuthError is translated here, so callers never see
 * a stack trace, and an error nobody anticipated becomes a fixed `server_error` whose detail is logged.
 */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuthExceptionFilter');

  constructor(private readonly audit: AuditTrail) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.respond(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /** Answers `request` with the OAuth error `exception` stands for. */
  respond(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    let error = toOAuthError(exception, request);
    // The routes that issue tokens say so (http-route.ts); their refusals are audited, whatever failed.
    const audited = (request.routeOptions?.config as RouteConfig | undefined)?.audited;
    if (audited) {
      try {
        const endpoint = audited === true ? 'token' : audited;
        const record = auditRecordOf(request);
        // A vault handler writes its own refusal (vault-audit.ts); one refused before it ran still has a
        // line, and so has one cut at the drain deadline, whose handler never gets to write it.
        if (!(record && isVaultEvent(endpoint)) || cutAtDrainDeadline(exception)) {
          this.audit.refused(record ?? newAuditRecord(request), error, stepOf(exception), endpoint);
        }
      } catch (auditFailure) {
        // No line, no answer but 503: the audit trail is down (logged where it failed).
        error = toOAuthError(auditFailure, request);
      }
    }

    if (error.status === 503 && (exception === error || error.error === 'temporarily_unavailable')) {
      // A dependency down, a store in doubt, a drain: states already logged where they arise, not bugs.
      this.logger.warn(
        `${request.method} ${pathOf(request.url)}: ${error.error}: ${error.detail ?? error.description}`,
      );
    } else if (error.status >= 500) {
      this.logger.error(`${request.method} ${pathOf(request.url)}: ${describe(exception)}`, stackOf(exception));
    }

    const headers: Record<string, string> = {
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...error.headers,
    };
    // RFC 6749 §5.2: a client that tried the Authorization header gets 401 with a challenge.
    if (error.error === 'invalid_client' && request.headers.authorization !== undefined) {
      headers['www-authenticate'] = 'Basic realm="actbridge", charset="UTF-8"';
    }
    // A request cut for slowness was answered 408 on its socket (answerHttpClientError); an aborted one
    // has nobody left to answer.
    if (reply.sent || request.raw.socket?.destroyed) return;
    // RFC 6749 §5.2: a description may echo the caller's input; only its character set goes out.
    void reply
      .code(error.status)
      .headers(headers)
      .type('application/json; charset=utf-8')
      .send({ error: error.error, error_description: errorDescription(error.description) });
  }
}

/** The OAuth error an exception stands for: the one error mapping of the HTTP layer. */
export function toOAuthError(exception: unknown, request: FastifyRequest): OAuthError {
  if (exception instanceof OAuthError) return exception;
  if (exception instanceof HttpException) return fromHttpException(exception);
  const aborted = fromAbortedBody(exception, request);
  if (aborted) return aborted;
  const fastify = fromFastifyError(exception);
  if (fastify) return fastify;
  return new ServerError('internal server error', { detail: describe(exception) });
}

function fromHttpException(exception: HttpException): OAuthError {
  const status = exception.getStatus();
  if (status === 404) return new NotFound('no such endpoint');
  if (status === 405) return new InvalidRequest('method not allowed', { status: 405 });
  if (status === 413) return new InvalidRequest('request body too large', { status: 413 });
  if (status === 415) return unsupportedContentType(exception.message);
  if (status >= 500) return new ServerError('internal server error', { detail: exception.message });
  return new InvalidRequest('malformed request', { detail: exception.message, status });
}

/**
 * Errors Fastify raises before a handler runs (body limit, content-type, malformed body) carry a
 * `FST_*` code and a 4xx status. They are the caller's fault: answer in OAuth form, never 500.
 */
function fromFastifyError(exception: unknown): OAuthError | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { code, statusCode } = exception as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') return undefined;
  if (statusCode >= 500) return undefined;
  if (statusCode === 413) return new InvalidRequest('request body too large', { status: 413, detail: code });
  if (statusCode === 415) return unsupportedContentType(code);
  return new InvalidRequest('malformed request', { detail: code, status: statusCode });
}

/**
 * The body stopped arriving: Node cut the connection at REQUEST_TIMEOUT_MS (answered 408 already), or
 * the client went away. Either way the caller's doing, not a server error.
 */
function fromAbortedBody(exception: unknown, request: FastifyRequest): OAuthError | undefined {
  if ((exception as { code?: unknown } | null)?.code !== 'ECONNRESET' || request.raw.complete) return undefined;
  if (requestTimedOut(request.raw.socket)) {
    return new InvalidRequest('request timed out', {
      status: 408,
      detail: 'the request body was not complete within REQUEST_TIMEOUT_MS',
    });
  }
  return new InvalidRequest('request aborted', { detail: 'the client closed the connection before the whole body' });
}

/** The issue's rule, and RFC 6749's: a wrong content type is a malformed request (400), not a 415. */
function unsupportedContentType(detail: string): OAuthError {
  return new InvalidRequest('unsupported content type: use application/x-www-form-urlencoded', { detail });
}

/** The path without its query: a query may carry a token, and logs never do. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function describe(exception: unknown): string {
  if (exception instanceof Error) return `${exception.name}: ${exception.message}`;
  return String(exception);
}

function stackOf(exception: unknown): string | undefined {
  return exception instanceof Error ? exception.stack : undefined;
}
