import { Module } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { AdminRevocationRoutes } from './admin-revocation.routes.js';
import { CascadeResumer } from './cascade-resumer.js';
import { IntrospectionRoutes } from './introspection.routes.js';
import { IssuedTokens } from './issued-tokens.js';
import { RevocationListRoutes } from './revocation-list.routes.js';
import { RevocationRoutes } from './revocation.routes.js';

/** The consuming side's endpoints: introspection (RFC 7662) and revocation (RFC 7009), and the revocation list. */
@Module({
  imports: [ClientAuthModule, SubjectTokensModule],
  providers: [
    IssuedTokens,
    IntrospectionRoutes,
    RevocationRoutes,
    RevocationListRoutes,
    AdminRevocationRoutes,
    CascadeResumer,
  ],
  exports: [IntrospectionRoutes, RevocationRoutes, RevocationListRoutes, AdminRevocationRoutes],
})
export class IntrospectionModule {}
