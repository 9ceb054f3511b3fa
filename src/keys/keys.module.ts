import { Global, Logger, Module, type DynamicModule } from '@nestjs/common';
import { JwksRoutes } from './jwks.routes.js';
import { KeyService } from './key-service.js';
import type { SigningKeySet } from './signing-keys.loader.js';
import { TokenMinter } from './token-minter.js';

/** actbridge's own keys, loaded before the application is built (loadSigningKeys) so a bad key file stops startup plainly. */
@Global()
@Module({})
export class KeysModule {
  static forRoot(keySet: SigningKeySet): DynamicModule {
    return {
      module: KeysModule,
      providers: [
        {
          provide: KeyService,
          useFactory: () => {
            const keys = new KeyService(keySet);
            const logger = new Logger('Keys');
            if (keys.ephemeral) {
              logger.warn(
                `development signing key: generated an ephemeral ${keys.active.alg} key (kid ${keys.active.kid}); tokens stop verifying when the process restarts`,
              );
            } else {
              logger.log(
                `signing with kid ${keys.active.kid} (${keys.active.alg}); publishing ${keys.published.length} key(s)`,
              );
            }
            return keys;
          },
        },
        TokenMinter,
        JwksRoutes,
      ],
      exports: [KeyService, TokenMinter, JwksRoutes],
    };
  }
}
