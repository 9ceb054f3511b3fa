import { Module } from '@nestjs/common';
import { ClientRegistry } from '../clients/client-registry.js';
import { ClientAuthenticator } from './client-authenticator.js';
import { PrivateKeyJwtVerifier } from './private-key-jwt.js';

/** The client registry and token-endpoint client authentication. */
@Module({
  providers: [ClientRegistry, PrivateKeyJwtVerifier, ClientAuthenticator],
  exports: [ClientRegistry, ClientAuthenticator],
})
export class ClientAuthModule {}
