import { Injectable } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import { TOKEN_EXCHANGE_GRANT } from '../clients/client.config.js';
import { actorsOutermostFirst } from '../delegation/act-chain.js';
import { DelegationPolicy, type DelegationGrant } from '../delegation/delegation-policy.js';
import type { DpopBinding } from '../dpop/dpop-proof.js';
import { enforceSenderConstraint } from '../dpop/sender-constraint.js';
import { TokenMinter } from '../keys/token-minter.js';
import { InvalidRequest } from '../oauth-errors/oauth-error.js';
import { RevocationList } from '../stores/revocation-list.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { TokenTypes } from '../subject-tokens/token-types.js';
import type { TokenRole, ValidatedToken } from '../subject-tokens/validated-token.js';
import type { GrantContext, GrantHandler, TokenResponse } from '../token-endpoint/grant-handler.js';
import { TokenExchangeRequest } from './token-exchange.request.js';

/** Token types this grant can issue; both are the same RFC 9068 JWT access token. */
const ISSUABLE_TYPES: readonly string[] = [TokenTypes.accessToken, TokenTypes.jwt];

/**
 * OAuth 2.0 Token Exchange (RFC 8693): validate the subject (and actor) token, let the delegation core
 * decide what may be granted, and issue an RFC 9068 JWT access token carrying the `act` chain.
 */
@Injectable()
export class TokenExchangeGrant implements GrantHandler {
  readonly grantType = TOKEN_EXCHANGE_GRANT;

  constructor(
    private readonly validators: SubjectTokenValidators,
    private readonly policy: DelegationPolicy,
    private readonly minter: TokenMinter,
    private readonly revocations: RevocationList,
  ) {}

  async handle({ params, client, audit, dpop }: GrantContext): Promise<TokenResponse> {
    const request = TokenExchangeRequest.from(params);
    audit.subject_token_type = request.subject_token_type;
    audit.actor_token_type = request.actor_token_type;

    const issuedTokenType = request.requested_token_type ?? TokenTypes.accessToken;
    if (!ISSUABLE_TYPES.includes(issuedTokenType)) {
      throw new InvalidRequest(`unsupported requested_token_type; supported: ${ISSUABLE_TYPES.join(', ')}`);
    }

    const subject = await this.validators.validate(request.subject_token_type, request.subject_token, {
      role: 'subject',
      client,
    });
    audit.subject = subject.principal;
    const actor =
      request.actor_token === undefined
        ? undefined
        : await this.validators.validate(request.actor_token_type!, request.actor_token, { role: 'actor', client });
    if (actor) audit.actors = [actor.principal];
    // A bound token needs a proof by its key (RFC 9449 §6.1); a revoked one is dead (RFC 7009).
    const presented: Array<[ValidatedToken, TokenRole]> = [[subject, 'subject']];
    if (actor) presented.push([actor, 'actor']);
    for (const [token, role] of presented) {
      enforceSenderConstraint(token, dpop, role);
      await this.revocations.assertNotRevoked(token, role);
    }

    const grant = this.policy.decide({
      client,
      subject,
      actor,
      audiences: request.audience,
      resources: request.resource,
      scope: request.requestedScope,
    });
    audit.mode = grant.mode;
    audit.actors = actorsOutermostFirst(grant.act);
    audit.audience = [...grant.audience];
    audit.scope = grant.scope.join(' ');
    audit.ttl = grant.expiresAt - grant.issuedAt;

    const minted = await this.minter.mint(this.claimsOf(grant, client.client_id, dpop), {
      typ: 'at+jwt',
      issuedAt: grant.issuedAt,
      expiresAt: grant.expiresAt,
    });
    audit.jti = minted.jti;
    audit.issued_token_type = issuedTokenType;

    return {
      access_token: minted.token,
      issued_token_type: issuedTokenType,
      // RFC 9449 §5: a token bound to the proof's key is announced as DPoP.
      token_type: dpop ? 'DPoP' : 'Bearer',
      expires_in: grant.expiresAt - grant.issuedAt,
      ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
    };
  }

  /** RFC 9068 §2.2 claims, RFC 8693 `act`, RFC 9449 `cnf`. `iss`, `iat`, `exp`, `jti` are set by the minter. */
  private claimsOf(grant: DelegationGrant, clientId: string, dpop: DpopBinding | undefined): JWTPayload {
    return {
      sub: grant.subject.sub,
      // RFC 9493 iss_sub: `sub` alone is ambiguous once several issuers feed one STS.
      sub_id: { format: 'iss_sub', iss: grant.subject.iss, sub: grant.subject.sub },
      aud: grant.audience.length === 1 ? grant.audience[0] : [...grant.audience],
      client_id: clientId,
      ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
      ...(grant.act ? { act: grant.act } : {}),
      // RFC 9449 §6.1: bound to the DPoP proof's key.
      ...(dpop ? { cnf: { jkt: dpop.jkt } } : {}),
    };
  }
}
