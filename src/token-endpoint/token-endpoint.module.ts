import { Module } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { DpopVerifier } from '../dpop/dpop-verifier.js';
import { GrantsModule } from '../grants/grants.module.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import { TokenRoute } from './token-route.js';

@Module({
  imports: [ClientAuthModule, GrantsModule],
  providers: [GrantDispatcher, DpopVerifier, TokenRoute],
  exports: [GrantDispatcher, DpopVerifier, TokenRoute],
})
export class TokenEndpointModule {}
