import {
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { RUN_MODE, type RunMode } from '../config/run-mode.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { METRICS, type Metrics } from '../observability/metrics.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { rootCause } from '../trust-anchors/fetch-failure.js';
import { ConnectFlow } from './connect-flow.js';
import { KeyRing } from './key-ring.js';
import { MemoryVaultStore } from './memory-vault-store.js';
import { observedVaultStore } from './observed-vault-store.js';
import { PostgresVaultStore } from './postgres-vault-store.js';
import { TokenVault, VAULT_KEY_RING } from './token-vault.js';
import { VaultAudit } from './vault-audit.js';
import { VAULT_CONFIG, vaultKeyRing, type VaultConfig } from './vault-config.js';
import { VaultConnections } from './vault-connections.js';
import { VaultRoutes } from './vault.routes.js';
import { VAULT_STORE, type VaultStore } from './vault-store.js';

const logger = new Logger('TokenVault');

/** The vault keeps accounts in PostgreSQL: a database is configured and there are connections to keep. */
const inDatabase = (server: ServerConfig, vault: VaultConfig): boolean =>
  server.databaseUrl !== undefined && vault.connections.length > 0;

/**
 * The token vault (docs/token-vault.md): connections, their store and keys, the connect endpoints,
 * and TokenVault, which token exchange hands the requests naming a connection to.
 */
@Module({
  imports: [ClientAuthModule, SubjectTokensModule],
  providers: [
    VaultConnections,
    TokenVault,
    ConnectFlow,
    VaultAudit,
    VaultRoutes,
    {
      provide: VAULT_STORE,
      inject: [SERVER_CONFIG, VAULT_CONFIG, { token: METRICS, optional: true }],
      useFactory: (server: ServerConfig, vault: VaultConfig, metrics?: Metrics): VaultStore => {
        const store =
          server.databaseUrl !== undefined && inDatabase(server, vault)
            ? new PostgresVaultStore(server.databaseUrl, {
                // A refresh held up elsewhere takes at most its upstream timeout; then some slack.
                lockTimeoutMs: 2 * server.upstreamTimeoutMs + 5000,
                onIdleError: (error) => logger.warn(`database connection lost: ${error.message}`),
              })
            : new MemoryVaultStore();
        return metrics ? observedVaultStore(store, metrics) : store;
      },
    },
    {
      provide: VAULT_KEY_RING,
      inject: [RUN_MODE, SERVER_CONFIG, VAULT_CONFIG],
      useFactory: (mode: RunMode, server: ServerConfig, vault: VaultConfig): KeyRing =>
        vault.connections.length > 0
          ? vaultKeyRing(vault, mode, server.databaseUrl) // Without connections nothing is ever sealed; a ring is still injected.
          : (vault.keys ?? KeyRing.ephemeral()),
    },
  ],
  exports: [TokenVault, VaultRoutes],
})
export class VaultModule implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(VAULT_CONFIG) private readonly vault: VaultConfig,
    @Inject(VAULT_STORE) private readonly store: VaultStore,
    @Inject(VAULT_KEY_RING) private readonly ring: KeyRing,
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
  ) {}

  /** Migrations run before the server listens (several instances starting at once take turns). */
  async onModuleInit(): Promise<void> {
    if (!inDatabase(this.server, this.vault)) return;
    try {
      await this.store.migrate();
    } catch (error) {
      throw new Error(`token vault: cannot prepare the database (DATABASE_URL): ${rootCause(error)}`, { cause: error });
    }
  }

  onApplicationBootstrap(): void {
    const count = this.vault.connections.length;
    if (count === 0) return;
    const where = inDatabase(this.server, this.vault)
      ? 'PostgreSQL'
      : 'process memory, forgotten on restart (set DATABASE_URL and VAULT_KEYS to keep them)';
    logger.log(
      `token vault: ${count} connection(s); accounts in ${where}; key-encryption key ${this.ring.ephemeral ? 'generated at startup' : `"${this.ring.activeKid}"`}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
