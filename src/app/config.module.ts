import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CLIENT_CONFIGS } from '../clients/clients-loader.js';
import { LiveConfig } from '../config/live-config.js';
import { RUN_MODE } from '../config/run-mode.js';
import { SERVER_CONFIG } from '../config/server-config.js';
import { STORE_WINDOWS } from '../stores/single-use-window.js';
import { ANCHOR_FILES } from '../trust-anchors/anchor-loader.js';
import { VAULT_CONFIG } from '../vault/vault-config.js';
import { storeWindows } from './store-windows.js';
import type { StsConfig } from './sts-config.js';

/**
 * The validated configuration, injectable in parts: each module asks only for what it reads. What a
 * reload replaces (clients, trust anchors, keys) is read through LiveConfig by their registries; the
 * other parts are the startup configuration.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: StsConfig, live: LiveConfig): DynamicModule {
    const providers = [
      { provide: SERVER_CONFIG, useValue: config.server },
      { provide: RUN_MODE, useValue: config.mode },
      { provide: ANCHOR_FILES, useValue: config.anchors },
      { provide: CLIENT_CONFIGS, useValue: config.clients },
      { provide: STORE_WINDOWS, useValue: storeWindows(config) },
      { provide: VAULT_CONFIG, useValue: config.vault },
      { provide: LiveConfig, useValue: live },
    ];
    return { module: ConfigModule, providers, exports: providers.map((p) => p.provide) };
  }
}
