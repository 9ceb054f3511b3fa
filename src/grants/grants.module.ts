import { Module } from '@nestjs/common';
import { DelegationModule } from '../delegation/delegation.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { GRANT_HANDLERS, type GrantHandler } from '../token-endpoint/grant-handler.js';
import { Saml2BearerGrant } from './saml2-bearer.grant.js';
import { TokenExchangeGrant } from './token-exchange.grant.js';

/** The grant types actbridge serves: one line per grant. */
const GRANTS = [TokenExchangeGrant, Saml2BearerGrant];

@Module({
  imports: [SubjectTokensModule, DelegationModule],
  providers: [
    ...GRANTS,
    { provide: GRANT_HANDLERS, inject: GRANTS, useFactory: (...handlers: GrantHandler[]) => handlers },
  ],
  exports: [GRANT_HANDLERS],
})
export class GrantsModule {}
