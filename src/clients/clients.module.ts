import { Module } from '@nestjs/common';
import { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { PrivateKeyJwtVerifier } from '../client-auth/private-key-jwt.js';
import { ClientRegistry } from './client-registry.js';

/** The client registry and token-endpoint client authentication. */
@Module({
  providers: [ClientRegistry, PrivateKeyJwtVerifier, ClientAuthenticator],
  exports: [ClientRegistry, ClientAuthenticator],
})
export class ClientsModule {}
