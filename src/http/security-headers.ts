import type { FastifyInstance } from 'fastify';

/**
 * Headers every answer carries, whatever route or error produced it (a 404 and a refusal included):
 * `X-Content-Type-Options: nosniff`, so a browser reads a JSON body (which may echo the caller's input
 * in an error_description) as JSON and never as a script or a page.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    // Fetch §3.5 (X-Content-Type-Options): no content sniffing of any response.
    void reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });
}
