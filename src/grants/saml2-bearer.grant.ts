import { Injectable } from '@nestjs/common';
import { SAML2_BEARER_GRANT } from '../clients/client.config.js';
import { DelegationPolicy } from '../delegation/delegation-policy.js';
import { TokenMinter } from '../keys/token-minter.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { TokenTypes } from '../subject-tokens/token-types.js';
import type { GrantContext, GrantHandler, TokenResponse } from '../token-endpoint/grant-handler.js';
import { AssertionGrantRequest } from './assertion-grant.request.js';

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
    private readonly minter: TokenMinter,
  ) {}

  async handle({ params, client, audit }: GrantContext): Promise<TokenResponse> {
    const request = AssertionGrantRequest.from(params);
    audit.assertion_type = TokenTypes.saml2;
    const subject = await this.validators.validate(TokenTypes.saml2, request.assertion, { role: 'assertion', client });
    audit.subject = subject.principal;

    const grant = this.policy.decideAssertionGrant({
      client,
      subject,
      audiences: request.audience,
      resources: request.resource,
      scope: request.requestedScope,
    });
    audit.mode = grant.mode;
    audit.audience = [...grant.audience];
    audit.scope = grant.scope.join(' ');
    audit.ttl = grant.expiresAt - grant.issuedAt;

    const minted = await this.minter.mint(
      {
        sub: grant.subject.sub,
        // RFC 9493 iss_sub: the NameID is only unique within its IdP.
        sub_id: { format: 'iss_sub', iss: grant.subject.iss, sub: grant.subject.sub },
        aud: grant.audience.length === 1 ? grant.audience[0] : [...grant.audience],
        client_id: client.client_id,
        ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
      },
      { typ: 'at+jwt', issuedAt: grant.issuedAt, expiresAt: grant.expiresAt },
    );
    audit.jti = minted.jti;
    audit.issued_token_type = TokenTypes.accessToken;

    // RFC 6749 §5.1 response; issued_token_type is not part of it for this grant.
    return {
      access_token: minted.token,
      token_type: 'Bearer',
      expires_in: grant.expiresAt - grant.issuedAt,
      ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
    };
  }
}
