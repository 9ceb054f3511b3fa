import type { FastifyInstance } from 'fastify';
import { pathOf } from './oauth-exception.filter.js';

/** Writes one access-log entry. */
export type AccessLog = (fields: Readonly<Record<string, unknown>>) => void;

/**
 * One access-log line per answered request: method, path (never the query, which may carry a token),
 * status, latency and request id. No header or body value is ever logged.
 */
export function registerAccessLog(fastify: FastifyInstance, log: AccessLog): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    log({
      method: request.method,
      path: pathOf(request.url),
      status: reply.statusCode,
      latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      request_id: request.id,
    });
    done();
  });
}
