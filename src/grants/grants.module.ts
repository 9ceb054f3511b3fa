import { Module } from '@nestjs/common';
import { DelegationModule } from '../delegation/delegation.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { GRANT_HANDLERS, type GrantHandler } from './grant-handler.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { VaultModule } from '../vault/vault.module.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import { GrantIssuance } from './grant-issuance.js';
import { IdJagAssertionProfile } from './id-jag-assertion.profile.js';
import { IdJagIssuer } from './id-jag-issuer.js';
import { JwtBearerGrant } from './jwt-bearer.grant.js';
import { Rfc7523AssertionProfile } from './rfc7523-assertion.profile.js';
import { Saml2BearerGrant } from './saml2-bearer.grant.js';
import { TokenExchangeGrant } from './token-exchange.grant.js';

/** The grant types actbridge serves: one line per grant. */
const GRANTS = [TokenExchangeGrant, JwtBearerGrant, Saml2BearerGrant];

@Module({
  imports: [SubjectTokensModule, DelegationModule, TrustAnchorsModule, VaultModule],
  providers: [
    ...GRANTS,
    Rfc7523AssertionProfile,
    // ID-JAG in both roles: issuing (a token exchange profile) and redeeming (a jwt-bearer profile).
    IdJagIssuer,
    IdJagAssertionProfile,
    AccessTokenIssuer,
    GrantIssuance,
    { provide: GRANT_HANDLERS, inject: GRANTS, useFactory: (...handlers: GrantHandler[]) => handlers },
  ],
  exports: [GRANT_HANDLERS],
})
export class GrantsModule {}
