import { METHODS as NODE_METHODS } from 'node:http';
import type { AuditedEndpoint } from '../audit/audit-trail.js';
import type { FastifyInstance } from 'fastify';
import { InvalidRequest } from '../oauth/oauth-error.js';
import type { HttpRoute } from './http-route.js';

/** Route options read by the error mapping. */
export interface RouteConfig {
  readonly audited?: boolean | Exclude<AuditedEndpoint, 'token'>;
}

/**
 * Registers `routes` on Fastify, and for each path a 405 with `Allow` for every method it does not
 * serve (RFC 9110 §15.5.6): the answer comes from the route table, not from matching URLs afterwards.
 * Every method Node parses is routable, so TRACE, QUERY or PROPFIND at an endpoint is a 405 there too
 * (audited at the token endpoint like any other method), not an unaudited 404.
 * `around` wraps every handler (the application pins the configuration generation there).
 */
export function registerRoutes(
  fastify: FastifyInstance,
  routes: readonly HttpRoute[],
  around: <T>(handle: () => T) => T = (handle) => handle(),
): void {
  routeEveryMethod(fastify);
  const byPath = new Map<string, HttpRoute[]>();
  for (const route of routes) {
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
    const headers = route.headers;
    fastify.route({
      method: route.method,
      url: route.path,
      config: { audited: route.audited ?? false } satisfies RouteConfig,
      // A GET route answers HEAD as Fastify does by default, unless the GET changes state.
      ...(route.noHead ? { exposeHeadRoute: false } : {}),
      handler: headers
        ? (request, reply) => {
            void reply.headers(headers);
            return around(() => route.handle(request, reply));
          }
        : (request, reply) => around(() => route.handle(request, reply)),
    });
  }
  for (const [path, served] of byPath) {
    const allowed = served.flatMap((r) => (r.method === 'GET' && !r.noHead ? ['GET', 'HEAD'] : [r.method]));
    const allow = allowed.join(', ');
    const name = served[0]!.name;
    const audited = served.find((r) => r.audited)?.audited ?? false;
    // RFC 9110 §15.5.6: 405 with Allow to any method the path does not serve, whatever the method.
    const others = fastify.supportedMethods.filter((m) => !allowed.includes(m));
    const notAllowed = () =>
      new InvalidRequest(`the ${name} endpoint accepts ${allowed.filter((m) => m !== 'HEAD').join(', ')} only`, {
        status: 405,
        headers: { allow },
      });
    fastify.route({
      method: others,
      url: path,
      config: { audited } satisfies RouteConfig,
      // Before the body is read: its content type (a QUERY without one, a JSON body) must not turn the 405 into a 400.
      onRequest: (_request, _reply, done) => done(notAllowed()),
      handler: () => {
        throw notAllowed();
      },
    });
  }
}

/**
 * Makes Fastify route every method Node's parser accepts (it routes nine by default, and answers any
 * other with the not-found handler); CONNECT's target is an authority, never one of our paths.
 */
function routeEveryMethod(fastify: FastifyInstance): void {
  const known = new Set(fastify.supportedMethods);
  for (const method of NODE_METHODS) {
    if (method !== 'CONNECT' && !known.has(method)) fastify.addHttpMethod(method, { hasBody: true });
  }
}
