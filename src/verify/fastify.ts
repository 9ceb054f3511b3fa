import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActbridgeVerifier, VerifiedAccessToken } from './actbridge-verifier.js';
import {
  checkGuardOptions,
  checkResourceRequest,
  type RequestLike,
  type ResourceGuardOptions,
} from './resource-request.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by actbridgeHook: the verified actbridge access token of this request. */
    actbridge?: VerifiedAccessToken;
  }
}

/**
 * A Fastify `onRequest`/`preHandler` hook: verifies the request's actbridge access token (Bearer or
 * DPoP) and sets `request.actbridge`, or answers 401/403 with the RFC 6750 / RFC 9449 challenge.
 *
 * ```ts
 * app.addHook('onRequest', actbridgeHook(verifier, { audience: 'https://mcp.example.com/', scopes: ['tools'] }));
 * ```
 */
export function actbridgeHook(
  verifier: ActbridgeVerifier,
  options: ResourceGuardOptions = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  checkGuardOptions(options);
  return async (request, reply) => {
    const outcome = await checkResourceRequest(verifier, request as unknown as RequestLike, options);
    if (outcome.dpopNonce !== undefined) reply.header('dpop-nonce', outcome.dpopNonce);
    if (outcome.ok) {
      request.actbridge = outcome.token;
      return;
    }
    if (outcome.detail !== undefined)
      request.log.warn(`actbridge verify: ${outcome.body?.error_description}: ${outcome.detail}`);
    reply.code(outcome.status).header('www-authenticate', outcome.challenge).header('cache-control', 'no-store');
    await reply.send(outcome.body ?? { error_description: 'access token required' });
  };
}
