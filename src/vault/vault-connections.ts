import { Inject, Injectable, Logger } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { UpstreamProvider } from './upstream-provider.js';
import { VAULT_CONFIG, type LoadedConnection, type VaultConfig } from './vault-config.js';

/** The configured connections, by name and by the `audience`/`resource` values that name them. */
@Injectable()
export class VaultConnections {
  private readonly byName: ReadonlyMap<string, LoadedConnection>;
  private readonly byAudience: ReadonlyMap<string, LoadedConnection>;
  private readonly providers: ReadonlyMap<string, UpstreamProvider>;
  private readonly logger = new Logger('TokenVault');

  constructor(@Inject(SERVER_CONFIG) server: ServerConfig, @Inject(VAULT_CONFIG) vault: VaultConfig) {
    const connections = vault.connections;
    this.byName = new Map(connections.map((c) => [c.name, c]));
    this.byAudience = new Map(connections.flatMap((c) => c.config.audiences.map((a) => [a, c] as const)));
    this.providers = new Map(connections.map((c) => [c.name, new UpstreamProvider(c, server.upstreamTimeoutMs)]));
  }

  get enabled(): boolean {
    return this.byName.size > 0;
  }

  named(name: string): LoadedConnection | undefined {
    return this.byName.get(name);
  }

  /** The connection a target names, if any. */
  forTarget(target: string): LoadedConnection | undefined {
    return this.byAudience.get(target);
  }

  provider(connection: LoadedConnection): UpstreamProvider {
    return this.providers.get(connection.name)!;
  }

  /**
   * Ends a grant the vault dropped at the provider (RFC 7009); false when the provider cannot revoke or
   * fails. The tokens are gone from the vault either way (the user can still revoke at the provider).
   */
  async revokeQuietly(
    connection: LoadedConnection,
    tokens: { readonly access_token: string; readonly refresh_token?: string },
    what: string,
  ): Promise<boolean> {
    try {
      return await this.provider(connection).revokeGrant(tokens);
    } catch (error) {
      this.logger.warn(`${connection.name}: revocation ${what} failed: ${(error as Error).message}`);
      return false;
    }
  }
}
