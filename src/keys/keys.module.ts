import { Global, Logger, Module } from '@nestjs/common';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { JwksController } from './jwks.controller.js';
import { KeyService } from './key-service.js';
import { loadSigningKeys } from './signing-keys.loader.js';
import { TokenMinter } from './token-minter.js';

@Global()
@Module({
  controllers: [JwksController],
  providers: [
    {
      provide: KeyService,
      inject: [STS_CONFIG],
      useFactory: async ({ server }: StsConfig) => {
        const keys = new KeyService(await loadSigningKeys(server));
        const logger = new Logger('Keys');
        if (keys.ephemeral) {
          logger.warn(
            `!!! DEVELOPMENT SIGNING KEY: no SIGNING_KEYS configured, generated an ephemeral ${keys.active.alg} key (kid ${keys.active.kid}). ` +
              'Tokens stop verifying when the process restarts. Configure SIGNING_KEYS for anything but local development. !!!',
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
  ],
  exports: [KeyService, TokenMinter],
})
export class KeysModule {}
