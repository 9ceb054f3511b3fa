import type { FastifyInstance } from 'fastify';
import { TokenRequestParams } from '../oauth/request-params.js';

/**
 * The only body parser actbridge registers: `application/x-www-form-urlencoded` (RFC 6749 §3.2),
 * parsed with repetitions preserved. Fastify's JSON and text parsers are removed, so any other content
 * type is refused before a handler runs (and answered as invalid_request by the exception filter).
 */
export function registerFormBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => done(null, TokenRequestParams.fromFormBody(body as string)),
  );
}
