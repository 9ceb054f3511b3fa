import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { formRoute, type HttpRoute, type RouteProvider } from '../http/http-route.js';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { ADMIN_REVOCATION_PATH } from '../oauth/endpoint-paths.js';
import { InvalidRequest, UnauthorizedClient } from '../oauth/oauth-error.js';
import { formParamsOf } from '../oauth/request-params.js';
import { atStep } from '../observability/tracing.js';
import { RevocationList } from '../subject-tokens/revocation-check.js';
import { lineageTarget, type LineageTargetParams } from '../stores/lineage-target.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { clock } from '../common/clock.js';

/**
 * `POST /admin/revoke`: an operator's revocation over HTTP, by a client with `revocation_admin: true`
 * (client authentication as at the token endpoint). Form: `jti` (a token actbridge issued), or
 * `root_issuer` with `root_jti` (an upstream token, as a trust anchor issued it) or with `sub` (every
 * token of that subject). Revokes it and every descendant; answers the revoked key and how many
 * descendants were reached. Off for every client unless its configuration says otherwise.
 */
@Injectable()
export class AdminRevocationRoutes implements RouteProvider {
  private readonly window: number;

  constructor(
    private readonly clients: ClientAuthenticator,
    private readonly revocations: RevocationList,
    private readonly audit: AuditTrail,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    // As long as any token actbridge issues may live: roots and subjects stay revoked that long.
    this.window = server.maxTokenTtl + server.clockSkew;
  }

  routes(): HttpRoute[] {
    return [formRoute('admin revocation', ADMIN_REVOCATION_PATH, 'revocation', (request) => this.revoke(request))];
  }

  private async revoke(request: FastifyRequest): Promise<Record<string, unknown>> {
    const params = formParamsOf(request);
    const record = newAuditRecord(request);
    attachAuditRecord(request, record);
    // The audit line's `step` says where a refusal happened (docs/audit.md), here as at the token endpoint.
    const client = await atStep('client_authentication', () =>
      this.clients.authenticate(params, request.headers.authorization, record),
    );
    if (!client.revocation_admin) throw new UnauthorizedClient('this client may not revoke as an administrator');
    const given: LineageTargetParams = {
      jti: params.single('jti'),
      rootIssuer: params.single('root_issuer'),
      rootJti: params.single('root_jti'),
      sub: params.single('sub'),
    };
    const target = lineageTarget(given);
    if (typeof target === 'string') throw new InvalidRequest(target);
    // A token until its own expiry; a root, a subject or a token of unknown lineage for the window.
    const exp = (target.jti && (await this.revocations.expiryOf(target.jti))) || clock.seconds() + this.window;
    const { descendants } = await this.revocations.revokeTree(target.key, exp);
    this.audit.revoked(record, {
      revoked_by: 'admin',
      ...(target.jti ? { jti: target.jti } : { key: target.key }),
      exp,
      descendants_revoked: descendants,
    });
    return { revoked: target.key, descendants_revoked: descendants };
  }
}
