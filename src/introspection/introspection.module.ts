import { Module } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { IntrospectionRoutes } from './introspection.routes.js';
import { IssuedTokens } from './issued-tokens.js';
import { RevocationRoutes } from './revocation.routes.js';

/** The consuming side's endpoints: introspection (RFC 7662) and revocation (RFC 7009). */
@Module({
  imports: [ClientAuthModule, SubjectTokensModule],
  providers: [IssuedTokens, IntrospectionRoutes, RevocationRoutes],
  exports: [IntrospectionRoutes, RevocationRoutes],
})
export class IntrospectionModule {}
