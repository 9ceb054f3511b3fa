import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord, type AuditRecord } from '../audit/audit-record.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import type { ClientConfig } from '../clients/client.config.js';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { InvalidRequest } from '../oauth/oauth-error.js';
import { formParamsOf } from '../oauth/request-params.js';
import { RevocationList } from '../subject-tokens/revocation-check.js';
import { atStep } from '../observability/tracing.js';
import { IssuedTokens, type IssuedTokenClaims } from './issued-tokens.js';

/** A presented token as its endpoint reads it; `claims` is undefined when it is not a live actbridge access token. */
export interface PresentedToken {
  readonly record: AuditRecord;
  readonly client: ClientConfig;
  readonly claims: IssuedTokenClaims | undefined;
  /** The token as presented. */
  readonly token: string;
}

/**
 * The endpoints a client presents one of actbridge's tokens to: introspection (RFC 7662) and revocation
 * (RFC 7009). Both read the same request from the same stores; each decides what to do with the token.
 */
@Injectable()
export abstract class PresentedTokenRoutes implements RouteProvider {
  constructor(
    private readonly clients: ClientAuthenticator,
    protected readonly tokens: IssuedTokens,
    protected readonly revocations: RevocationList,
    protected readonly audit: AuditTrail,
  ) {}

  abstract routes(): HttpRoute[];

  /**
   * What RFC 7662 §2.1 and RFC 7009 §2.1 requests share: a form from an authenticated client (the methods
   * of the token endpoint), with one `token` and an optional `token_type_hint` (only a hint: actbridge
   * issues one kind of token). The audit record is attached first, so that a refusal is audited too.
   */
  protected async presented(request: FastifyRequest): Promise<PresentedToken> {
    const record = newAuditRecord(request);
    attachAuditRecord(request, record);
    const params = formParamsOf(request);
    // The audit line's `step` says where a refusal happened (docs/audit.md), here as at the token endpoint.
    const client = await atStep('client_authentication', () =>
      this.clients.authenticate(params, request.headers.authorization, record),
    );
    const token = params.single('token');
    if (token === undefined) throw new InvalidRequest('token is required');
    params.single('token_type_hint'); // still refused when repeated
    return { record, client, claims: await this.tokens.read(token), token };
  }
}
