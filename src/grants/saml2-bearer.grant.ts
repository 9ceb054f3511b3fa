import { recordSubject } from '../audit/audit-record.js';
import { Injectable } from '@nestjs/common';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { atStep } from '../observability/tracing.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { GrantContext, GrantHandler } from './grant-handler.js';
import { decisionRequest, GrantIssuance } from './grant-issuance.js';
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
    private readonly issuance: GrantIssuance,
  ) {}

  async handle(context: GrantContext): Promise<TokenResponse> {
    const { client, audit } = context;
    const request = AssertionGrantRequest.from(context.params);
    audit.assertion_type = TokenTypes.saml2;
    // RFC 7522 §3 item 6: the assertion's ID is spent by the token it yields (beforeMint), not by a request
    // refused for its scope or target, which the client corrects and retries.
    const subject = await this.validators.validate(TokenTypes.saml2, request.assertion, {
      role: 'assertion',
      client,
      deferSingleUse: true,
    });
    recordSubject(audit, subject);
    const lineage = [lineageLink(subject, request.assertion, 'assertion')];
    // RFC 6749 §5.1 response; issued_token_type is not part of it for this grant.
    return this.issuance.issue(
      { client, subject, request: decisionRequest(request), ceiling: { kind: 'assertion' } },
      context,
      lineage,
      undefined,
      () => atStep('token_validation', async () => subject.spend?.()),
    );
  }
}
