import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module.js';
import { DpopVerifier } from '../dpop/dpop-verifier.js';
import { GrantsModule } from '../grants/grants.module.js';
import { GrantDispatcher } from './grant-dispatcher.js';
import { TokenController } from './token.controller.js';

@Module({
  imports: [ClientsModule, GrantsModule],
  controllers: [TokenController],
  providers: [GrantDispatcher, DpopVerifier],
  exports: [GrantDispatcher, DpopVerifier],
})
export class TokenEndpointModule {}
