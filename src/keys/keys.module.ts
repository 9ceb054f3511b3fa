import { Global, Module } from '@nestjs/common';
import { JwksRoutes } from './jwks.routes.js';
import { KeyService } from './key-service.js';
import { TokenMinter } from './token-minter.js';

/** actbridge's own keys: read from the configuration in force (LiveConfig), loaded before the application is built. */
@Global()
@Module({ providers: [KeyService, TokenMinter, JwksRoutes], exports: [KeyService, TokenMinter, JwksRoutes] })
export class KeysModule {}
