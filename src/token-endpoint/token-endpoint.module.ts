import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module.js';
import { DpopVerifier } from '../dpop/dpop-verifier.js';
import { GrantsModule } from '../grants/grants.module.js';
import { OAuthErrorsModule } from '../http/oauth-errors.module.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import { TokenRoute } from './token-route.js';

@Module({
  imports: [ClientsModule, GrantsModule, OAuthErrorsModule],
  providers: [GrantDispatcher, DpopVerifier, TokenRoute],
  exports: [GrantDispatcher, DpopVerifier],
})
export class TokenEndpointModule {}
