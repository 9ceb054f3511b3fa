import { Module } from '@nestjs/common';
import { DelegationModule } from '../delegation/delegation.module.js';
import { IdJagModule } from '../id-jag/id-jag.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { GRANT_HANDLERS, type GrantHandler } from '../token-endpoint/grant-handler.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { VaultModule } from '../vault/vault.module.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import { JwtBearerGrant } from './jwt-bearer.grant.js';
import { Rfc7523AssertionProfile } from './rfc7523-assertion.profile.js';
import { Saml2BearerGrant } from './saml2-bearer.grant.js';
import { TokenExchangeGrant } from './token-exchange.grant.js';

/** The grant types actbridge serves: one line per grant. */
const GRANTS = [TokenExchangeGrant, JwtBearerGrant, Saml2BearerGrant];

@Module({
  imports: [SubjectTokensModule, DelegationModule, IdJagModule, TrustAnchorsModule, VaultModule],
  providers: [
    ...GRANTS,
    Rfc7523AssertionProfile,
    AccessTokenIssuer,
    { provide: GRANT_HANDLERS, inject: GRANTS, useFactory: (...handlers: GrantHandler[]) => handlers },
  ],
  exports: [GRANT_HANDLERS],
})
export class GrantsModule {}
