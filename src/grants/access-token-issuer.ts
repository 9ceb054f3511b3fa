import { Injectable } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import { recordIssuance, type AuditRecord } from '../audit/audit-record.js';
import type { ActClaim } from '../delegation/act-chain.js';
import type { DpopBinding } from '../dpop/dpop-proof.js';
import { TokenMinter } from '../keys/token-minter.js';
import { inSpan } from '../observability/tracing.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { Principal } from '../subject-tokens/validated-token.js';
import type { AuthenticationContext } from '../subject-tokens/authentication-context.js';
import { RevocationList, type LineageLink } from '../subject-tokens/revocation-check.js';
import { type TokenResponse } from '../oauth/token-response.js';

/** What an access token says, whatever grant decided it. */
export interface AccessTokenGrant {
  readonly subject: Principal;
  readonly audience: readonly string[];
  readonly scope: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** RFC 8693 `act` chain (token exchange by delegation only). */
  readonly act?: ActClaim;
  /** How the subject authenticated, as the presented subject token said (RFC 9068 §2.2.1). */
  readonly authentication?: AuthenticationContext;
}

/**
 * Issues the RFC 9068 JWT access token every grant ends with (token exchange, saml2-bearer, jwt-bearer),
 * so that its claims, its DPoP binding and the response are the same whichever grant decided it.
 */
@Injectable()
export class AccessTokenIssuer {
  constructor(
    private readonly minter: TokenMinter,
    private readonly revocations: RevocationList,
  ) {}

  async issue(
    grant: AccessTokenGrant,
    context: {
      clientId: string;
      audit: AuditRecord;
      dpop?: DpopBinding;
      issuedTokenType?: string;
      /** The presented tokens' places in the lineage (RevocationList.link), subject first. */
      lineage: readonly LineageLink[];
    },
  ): Promise<TokenResponse> {
    const { audit, dpop } = context;
    const claims = accessTokenClaims(grant, context.clientId, dpop);
    const minted = await inSpan('sign', 'signing', () =>
      this.minter.mint(claims, { typ: 'at+jwt', issuedAt: grant.issuedAt, expiresAt: grant.expiresAt }),
    );
    // Recorded before the token is handed out, so a revocation that follows always finds it.
    const parents = await this.revocations.record(context.lineage, {
      jti: minted.jti,
      subject: grant.subject,
      client_id: context.clientId,
      ...(grant.act ? { actor: grant.act.sub } : {}),
      audience: grant.audience,
      typ: 'at+jwt',
      iat: grant.issuedAt,
      exp: grant.expiresAt,
    });
    recordIssuance(audit, minted.jti, context.issuedTokenType ?? TokenTypes.accessToken, parents, minted.expiresAt);
    return {
      access_token: minted.token,
      // RFC 8693 §2.2.1 has issued_token_type; the RFC 6749 §5.1 response of assertion grants does not.
      ...(context.issuedTokenType ? { issued_token_type: context.issuedTokenType } : {}),
      // RFC 9449 §5: a token bound to the proof's key is announced as DPoP.
      token_type: dpop ? 'DPoP' : 'Bearer',
      expires_in: grant.expiresAt - grant.issuedAt,
      ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
    };
  }
}

/** RFC 9068 §2.2 claims, RFC 8693 `act`, RFC 9449 `cnf`. `iss`, `iat`, `exp`, `jti` are set by the minter. */
export function accessTokenClaims(
  grant: AccessTokenGrant,
  clientId: string,
  dpop: DpopBinding | undefined,
): JWTPayload {
  return {
    sub: grant.subject.sub,
    // RFC 9493 iss_sub: `sub` alone is ambiguous once several issuers feed one STS.
    sub_id: { format: 'iss_sub', iss: grant.subject.iss, sub: grant.subject.sub },
    aud: grant.audience.length === 1 ? grant.audience[0] : [...grant.audience],
    client_id: clientId,
    // RFC 9068 §2.2.1: so a resource can ask for a stronger or fresher login (RFC 9470) behind the exchange.
    ...grant.authentication,
    ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
    ...(grant.act ? { act: grant.act } : {}),
    // RFC 9449 §6.1: bound to the DPoP proof's key.
    ...(dpop ? { cnf: { jkt: dpop.jkt } } : {}),
  };
}
