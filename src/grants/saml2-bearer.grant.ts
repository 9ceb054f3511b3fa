import { Injectable } from '@nestjs/common';
import { DelegationPolicy } from '../delegation/delegation-policy.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { GrantContext, GrantHandler } from './grant-handler.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import { AssertionGrantRequest } from './assertion-grant.request.js';
import { SAML2_BEARER_GRANT } from '../oauth/grant-types.js';
import { lineageLink } from '../subject-tokens/revocation-check.js';
import { type TokenResponse } from '../oauth/token-response.js';

/**
 * RFC 7522 SAML 2.0 Bearer Assertion grant: the `assertion` is validated exactly as a saml2 subject
 * token (errors become invalid_grant, RFC 7522 §3.1), and the client receives an RFC 9068 access token
 * about the assertion's subject, on its behalf: no `act`, the client named by `client_id`.
 */
@Injectable()
export class Saml2BearerGrant implements GrantHandler {
  readonly grantType = SAML2_BEARER_GRANT;

  constructor(
    private readonly validators: SubjectTokenValidators,
    private readonly policy: DelegationPolicy,
    private readonly issuer: AccessTokenIssuer,
  ) {}

  async handle({ params, client, audit, dpop }: GrantContext): Promise<TokenResponse> {
    const request = AssertionGrantRequest.from(params);
    audit.assertion_type = TokenTypes.saml2;
    const subject = await this.validators.validate(TokenTypes.saml2, request.assertion, { role: 'assertion', client });
    audit.subject = subject.principal;
    const lineage = [lineageLink(subject, request.assertion, 'assertion')];
    const grant = this.policy.decide(
      {
        client,
        subject,
        request: { audiences: request.audience, resources: request.resource, scope: request.requestedScope },
        ceiling: { kind: 'assertion' },
      },
      audit,
    );
    // RFC 6749 §5.1 response; issued_token_type is not part of it for this grant.
    return this.issuer.issue(grant, { clientId: client.client_id, audit, dpop, lineage });
  }
}
