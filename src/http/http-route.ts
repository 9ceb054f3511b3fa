import type { AuditedEndpoint } from '../audit/audit-trail.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * One HTTP route, served by Fastify directly (Nest is the dependency-injection container, not the
 * router): the token endpoint is on the hot path, and every route is served the same way. A handler
 * returns the response body or throws; errors are answered by the one error mapping
 * (oauth-exception.filter.ts) through Fastify's error handler.
 */
export interface HttpRoute {
  /** What the endpoint is, for messages: `the token endpoint accepts POST only`. */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'OPTIONS';
  readonly path: string;
  /** Response headers set before the handler runs (cache control, content type). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Refusals at this route leave an audit line: `true` for the token endpoint's (`token.refused`), else `<name>.refused` or the vault event. */
  readonly audited?: boolean | Exclude<AuditedEndpoint, 'token'>;
  /**
   * A GET that changes state (an OAuth redirect back, spending its flow): not answered to HEAD, which
   * link checkers and prefetchers send expecting no effect (RFC 9110 §9.2.1); HEAD then gets the 405.
   */
  readonly noHead?: true;
  handle(request: FastifyRequest, reply: FastifyReply): unknown;
}

/** A provider of routes; the application registers every one of them (app/routes.ts). */
export interface RouteProvider {
  routes(): readonly HttpRoute[];
  /** Request hooks the routes need on every request (registered before any route). */
  hooks?(fastify: FastifyInstance): void;
}

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/**
 * A POST endpoint taking an OAuth form (token, introspection, revocation, admin revocation): its answers
 * carry tokens or say what a token is, so they are never cached (no-store, as RFC 6749 §5.1 asks).
 */
export function formRoute(
  name: string,
  path: string,
  audited: HttpRoute['audited'],
  handle: HttpRoute['handle'],
): HttpRoute {
  return { name, method: 'POST', path, headers: NO_STORE, audited, handle };
}
