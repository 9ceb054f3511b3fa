import { Module } from '@nestjs/common';
import { DelegationModule } from '../delegation/delegation.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { IdJagAssertionProfile } from '../grants/id-jag-assertion.profile.js';
import { IdJagIssuer } from '../grants/id-jag-issuer.js';

/** ID-JAG in both roles: issuing (token exchange) and redeeming (jwt-bearer). */
@Module({
  imports: [SubjectTokensModule, TrustAnchorsModule, DelegationModule],
  providers: [IdJagIssuer, IdJagAssertionProfile],
  exports: [IdJagIssuer, IdJagAssertionProfile],
})
export class IdJagModule {}
