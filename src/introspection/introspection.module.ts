import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module.js';
import { IntrospectionController } from './introspection.controller.js';
import { IssuedTokens } from './issued-tokens.js';
import { RevocationController } from './revocation.controller.js';

/** The consuming side's endpoints: introspection (RFC 7662) and revocation (RFC 7009). */
@Module({
  imports: [ClientsModule],
  controllers: [IntrospectionController, RevocationController],
  providers: [IssuedTokens],
})
export class IntrospectionModule {}
