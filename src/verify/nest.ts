import { HttpException, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ActbridgeVerifier } from './actbridge-verifier.js';
import {
  checkGuardOptions,
  checkResourceRequest,
  type RequestLike,
  type ResourceGuardOptions,
} from './resource-request.js';

/** `request.actbridge`: the verified token, set by ActbridgeGuard (and by the Fastify hook). */
export type { VerifiedAccessToken } from './actbridge-verifier.js';

/**
 * A Nest guard (Fastify or Express adapter) on the actbridge verify helper: sets `request.actbridge`,
 * or refuses with 401/403 and the RFC 6750 / RFC 9449 `WWW-Authenticate` challenge.
 *
 * ```ts
 * @UseGuards(new ActbridgeGuard(verifier, { audience: 'https://mcp.example.com/', scopes: ['tools'] }))
 * ```
 */
export class ActbridgeGuard implements CanActivate {
  private readonly logger = new Logger('ActbridgeGuard');

  constructor(
    private readonly verifier: ActbridgeVerifier,
    private readonly options: ResourceGuardOptions = {},
  ) {
    checkGuardOptions(options);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<RequestLike & { actbridge?: unknown }>();
    const outcome = await checkResourceRequest(this.verifier, request, this.options);
    const response = http.getResponse<{ header(name: string, value: string): unknown }>();
    if (outcome.dpopNonce !== undefined) response.header('dpop-nonce', outcome.dpopNonce);
    if (outcome.ok) {
      request.actbridge = outcome.token;
      return true;
    }
    if (outcome.detail !== undefined) this.logger.warn(`${outcome.body?.error_description}: ${outcome.detail}`);
    response.header('www-authenticate', outcome.challenge);
    response.header('cache-control', 'no-store');
    throw new HttpException(outcome.body ?? { error_description: 'access token required' }, outcome.status);
  }
}
