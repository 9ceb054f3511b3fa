import { Injectable } from '@nestjs/common';
import { presentedValue, recordSubject } from '../audit/audit-record.js';
import { IdJagIssuer } from './id-jag-issuer.js';
import { enforceSenderConstraint } from '../dpop/sender-constraint.js';
import { atStep } from '../observability/tracing.js';
import { lineageLink, RevocationList, type LineageLink } from '../subject-tokens/revocation-check.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { GrantContext, GrantHandler } from './grant-handler.js';
import { TokenVault } from '../vault/token-vault.js';
import { decisionRequest, GrantIssuance } from './grant-issuance.js';
import { TokenExchangeRequest } from './token-exchange.request.js';
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js';
import { type TokenRole } from '../oauth/token-rejection.js';
import { type TokenResponse } from '../oauth/token-response.js';

/**
 * OAuth 2.0 Token Exchange (RFC 8693): validate the subject (and actor) token, let the delegation core
 * decide what may be granted, and issue an RFC 9068 JWT access token carrying the `act` chain.
 */
@Injectable()
export class TokenExchangeGrant implements GrantHandler {
  readonly grantType = TOKEN_EXCHANGE_GRANT;

  constructor(
    private readonly validators: SubjectTokenValidators,
    private readonly issuance: GrantIssuance,
    private readonly idJag: IdJagIssuer,
    private readonly revocations: RevocationList,
    private readonly vault: TokenVault,
  ) {}

  async handle(context: GrantContext): Promise<TokenResponse> {
    const { params, client, audit, dpop } = context;
    const request = TokenExchangeRequest.from(params);
    // The caller's text, refused later when unknown: audited in part (a line never as large as the body).
    audit.subject_token_type = presentedValue(request.subject_token_type);
    audit.actor_token_type = presentedValue(request.actor_token_type);
    // ID-JAG §4.3: a profile of token exchange with its own subject, policy and output.
    if (request.requested_token_type === TokenTypes.idJag) return this.idJag.issue(request, { client, audit, dpop });

    const issuedTokenType = request.issuedTokenType();

    // RFC 7522 §3 item 6: a SAML token's ID is spent (spendSingleUse) by what the exchange yields, not by a
    // request refused for its scope or target, which the client corrects and retries.
    const subject = await this.validators.validate(request.subject_token_type, request.subject_token, {
      role: 'subject',
      client,
      deferSingleUse: true,
    });
    recordSubject(audit, subject);
    const actor =
      request.actor_token === undefined
        ? undefined
        : await this.validators.validate(request.actor_token_type!, request.actor_token, {
            role: 'actor',
            client,
            deferSingleUse: true,
          });
    const spendSingleUse = () =>
      atStep('token_validation', async () => {
        await subject.spend?.();
        await actor?.spend?.();
      });
    if (actor) audit.actors = [actor.principal];
    // A bound token needs a proof by its key (RFC 9449 §6.1); a revoked one is dead (RFC 7009).
    // Each also names its place in the lineage, which the issued token records as its parents.
    const presented: Array<[ValidatedToken, string, TokenRole]> = [[subject, request.subject_token, 'subject']];
    if (actor) presented.push([actor, request.actor_token!, 'actor']);
    const lineage: LineageLink[] = [];
    for (const [token, raw, role] of presented) {
      enforceSenderConstraint(token, dpop, role);
      lineage.push(lineageLink(token, raw, role));
    }
    // A target naming a token-vault connection asks for the user's upstream token there. Issued
    // tokens are checked for revocation when their lineage is recorded; this one is not issued here.
    if (this.vault.names(request)) {
      for (const [token, raw, role] of presented) await this.revocations.assertNotRevoked(token, raw, role);
      await spendSingleUse();
      return this.vault.exchange({ request, client, subject, actor, audit });
    }

    return this.issuance.issue(
      { client, subject, actor, request: decisionRequest(request), ceiling: { kind: 'exchange' } },
      context,
      lineage,
      issuedTokenType,
      spendSingleUse,
    );
  }
}
