import type { FastifyInstance } from 'fastify';
import { InvalidRequest, type OAuthError } from '../oauth/oauth-error.js';
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
    (request, body, done) => {
      const charset = charsetProblem(request.headers['content-type']);
      if (charset) return done(charset, undefined);
      done(null, TokenRequestParams.fromFormBody(body as string));
    },
  );
}

/** Charsets whose bytes read the same as UTF-8 (US-ASCII is a subset of it). */
const UTF8 = new Set(['utf-8', 'us-ascii']);

/**
 * A refusal when the form says its percent-encoded bytes are in a charset other than UTF-8: they would
 * be read as UTF-8 all the same, and mean something else than the client sent.
 */
export function charsetProblem(contentType: string | undefined): OAuthError | undefined {
  if (contentType === undefined) return undefined;
  for (const parameter of contentType.split(';').slice(1)) {
    const equals = parameter.indexOf('=');
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue;
    const value = parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    // RFC 6749 Appendix B: form names and values are UTF-8 before they are percent-encoded.
    if (!UTF8.has(value.toLowerCase())) {
      return new InvalidRequest('unsupported charset: send the form in UTF-8', {
        detail: `Content-Type charset ${JSON.stringify(value.slice(0, 40))} (RFC 6749 Appendix B)`,
      });
    }
  }
  return undefined;
}
