import { Inject, Injectable } from '@nestjs/common';
import { presentedValue, type AuditRecord } from '../audit/audit-record.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { DpopVerifier } from '../dpop/dpop-verifier.js';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../oauth/oauth-error.js';
import { GRANT_HANDLERS, type GrantHandler } from '../grants/grant-handler.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { type TokenResponse } from '../oauth/token-response.js';
import { atStep, inSpan } from '../observability/tracing.js';

export interface TokenEndpointRequest {
  readonly params: TokenRequestParams;
  readonly authorization: string | undefined;
  /** Created by the caller and attached to the HTTP request, so refusals are audited with it. */
  readonly audit: AuditRecord;
  /** Every `DPoP` request header value (RFC 9449); absent or empty when there is none. */
  readonly dpopProofs?: readonly string[];
}

/**
 * Runs a token request through the checks common to every grant, in the order RFC 6749 implies:
 * grant type known (unsupported_grant_type), client authenticated (invalid_client), client allowed
 * the grant (unauthorized_client), DPoP proof if any (invalid_dpop_proof); then the grant's handler. Writes the audit line of a success; the
 * exception filter writes that of a refusal.
 */
@Injectable()
export class GrantDispatcher {
  private readonly handlers: ReadonlyMap<string, GrantHandler>;

  constructor(
    @Inject(GRANT_HANDLERS) handlers: GrantHandler[],
    private readonly clients: ClientAuthenticator,
    private readonly auditTrail: AuditTrail,
    private readonly dpop: DpopVerifier,
  ) {
    this.handlers = new Map(handlers.map((h) => [h.grantType, h]));
  }

  get grantTypes(): string[] {
    return [...this.handlers.keys()];
  }

  async dispatch({ params, authorization, audit, dpopProofs = [] }: TokenEndpointRequest): Promise<TokenResponse> {
    const grantType = params.single('grant_type');
    if (grantType === undefined) throw new InvalidRequest('grant_type is required');
    // The caller's text: audited in part, so an unknown grant_type of 100 kB is not a 100 kB line.
    audit.grant_type = presentedValue(grantType);
    const handler = this.handlers.get(grantType);
    if (!handler) throw new UnsupportedGrantType(`grant_type not supported; supported: ${this.grantTypes.join(', ')}`);

    const client = await inSpan('authenticate client', 'client_authentication', () =>
      this.clients.authenticate(params, authorization, audit),
    );
    if (!client.grant_types.includes(grantType)) {
      throw new UnauthorizedClient('this client may not use this grant_type');
    }
    const dpop = await atStep('dpop', () => this.dpop.verify({ proofs: dpopProofs, client, audit }));
    const response = await atStep('grant', () => handler.handle({ params, client, audit, dpop }));
    // Written before the response is sent: a token whose line cannot be written is not handed out.
    this.auditTrail.issued(audit);
    return response;
  }
}
