import { ConfigError } from '../config/config-error.js';
import { loadStsConfig, type StsConfig } from '../app/sts-config.js';
import { storeWindows } from '../app/store-windows.js';
import { RedisConnection } from '../stores/redis-connection.js';
import { RedisLineageStore } from '../stores/redis-lineage-store.js';
import { RedisRevocationStore } from '../stores/redis-revocation-store.js';

/** The shared stores an operator command reads and writes, as the server's configuration names them. */
export interface OperatorStores {
  readonly config: StsConfig;
  readonly connection: RedisConnection;
  readonly revocations: RedisRevocationStore;
  readonly lineage: RedisLineageStore;
}

/**
 * Opens the shared store from the server's environment (REDIS_URL). A string: why not (exit code 2).
 * Without Redis, revocations and lineage live in the server process: there is nothing to reach.
 */
export function openOperatorStores(command: string): OperatorStores | string {
  let config: StsConfig;
  try {
    // Not a server: the configured files are read as given, to find REDIS_URL and the windows.
    config = loadStsConfig(process.env, 'development');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return `${command}: configuration error: ${error.message}`;
  }
  if (!config.server.redisUrl) {
    return `${command}: REDIS_URL is not set: lineage and revocations live in the server's process memory; use POST /admin/revoke (docs/lineage.md)`;
  }
  const connection = new RedisConnection(config.server.redisUrl, {
    timeoutMs: Math.max(config.server.redisTimeoutMs, 5000),
    windows: storeWindows(config),
  });
  const revocations = new RedisRevocationStore(connection);
  return { config, connection, revocations, lineage: new RedisLineageStore(connection, revocations.prefix) };
}

export function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
