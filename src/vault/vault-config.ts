import { readdirSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { ClientConfig } from '../clients/client.config.js';
import { ConfigError } from '../config/config-error.js';
import { readYamlFile } from '../config/config-files.js';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { configFailure, validateConfig } from '../config/validate-config.js';
import { readSecretSource, type SecretValue } from '../trust-anchors/secret-value.js';
import { ConnectionConfig } from './connection.config.js';
import { compileConnectionPolicy, type ConnectionPolicy } from './connection-policy.js';
import { KeyRing, loadKeyRing } from './key-ring.js';

/** A connection as loaded: its validated file, its secret and its compiled rules. */
export interface LoadedConnection {
  readonly name: string;
  readonly file: string;
  readonly config: ConnectionConfig;
  readonly clientSecret: SecretValue;
  readonly policy: ConnectionPolicy;
}

/** The token vault's configuration (injection token). */
export const VAULT_CONFIG = Symbol('VAULT_CONFIG');

export interface VaultConfig {
  readonly connections: readonly LoadedConnection[];
  /** The key-encryption keys of VAULT_KEYS; undefined when unset. */
  readonly keys: KeyRing | undefined;
}

type Settings = Pick<ServerConfig, 'connectionsDir' | 'databaseUrl' | 'vaultKeys' | 'vaultKeyId' | 'issuer'>;

/**
 * Loads the connection files and the vault's keys, or throws a ConfigError naming the file (or
 * variable) and field. A database without keys is refused in every mode: what it stored with a key
 * generated at startup could never be read again.
 */
export function loadVaultConfig(
  server: Settings,
  clients: readonly ClientConfig[],
  env: Readonly<Record<string, string | undefined>>,
): VaultConfig {
  const connections = loadConnections(server, clients, env);
  const keys = loadKeyRing(server);
  if (connections.length > 0 && server.databaseUrl !== undefined && keys === undefined) {
    throw new ConfigError(
      'environment: VAULT_KEYS: required with DATABASE_URL (the token vault encrypts what it stores; `npm run vault -- generate-key`)',
    );
  }
  return { connections, keys };
}

/** What a production start refuses about the vault (one line each); nothing when there are no connections. */
export function vaultProductionProblems(server: Pick<ServerConfig, 'databaseUrl'>, vault: VaultConfig): string[] {
  if (vault.connections.length === 0) return [];
  const problems: string[] = [];
  if (server.databaseUrl === undefined) {
    problems.push(
      'environment: DATABASE_URL: required in production when CONNECTIONS_DIR holds connections (the token vault keeps them in PostgreSQL); `npm start` keeps them in memory',
    );
  }
  if (vault.keys === undefined) {
    problems.push(
      'environment: VAULT_KEYS: required in production when CONNECTIONS_DIR holds connections (the key-encryption keys of the token vault)',
    );
  }
  return problems;
}

/** Environment variables the connection files name for their secrets (not settings to check for typos). */
export function connectionSecretVariables(vault: VaultConfig): string[] {
  return vault.connections.flatMap((c) => c.config.client_secret_env ?? []);
}

function loadConnections(
  server: Settings,
  clients: readonly ClientConfig[],
  env: Readonly<Record<string, string | undefined>>,
): LoadedConnection[] {
  const known = new Set(clients.map((c) => c.client_id));
  const byName = new Map<string, string>();
  const byAudience = new Map<string, string>();
  const loaded: LoadedConnection[] = [];
  for (const file of connectionFiles(resolve(server.connectionsDir), env.CONNECTIONS_DIR !== undefined)) {
    const config = validateConfig(ConnectionConfig, readYamlFile(file), file);
    const name = config.name ?? basename(file).replace(/\.ya?ml$/i, '');
    const problems: Array<[string, string]> = [];
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
      problems.push(['name', `"${name}" (from the file name) must be 1-64 lowercase letters, digits, ".", "_" or "-"`]);
    }
    const other = byName.get(name);
    if (other) problems.push(['name', `"${name}" already used by ${other}`]);
    config.audiences.forEach((audience, i) => {
      const taken = byAudience.get(audience);
      if (taken) problems.push([`audiences[${i}]`, `already names the connection in ${taken}`]);
      if (audience === server.issuer) problems.push([`audiences[${i}]`, "is actbridge's own issuer"]);
      // A token exchange naming a connection's audience always asks the vault (TokenVault.names): a client
      // listing it among its own audiences would silently lose actbridge's tokens for it.
      const shadowed = clients.find((c) => c.audiences.includes(audience));
      if (shadowed) {
        problems.push([
          `audiences[${i}]`,
          `is an audience of client ${shadowed.client_id} too (CLIENTS_FILE): a token exchange naming it asks this connection, so ${shadowed.client_id} could never get actbridge's token for it`,
        ]);
      }
    });
    problems.push(...endpointProblems(config));
    // docs/token-vault.md: extra_scopes are carried past every rule; one among `scopes` would escape the rules' grants.
    config.connect.extra_scopes.forEach((scope, i) => {
      if (config.scopes.includes(scope)) {
        problems.push([
          `connect.extra_scopes[${i}]`,
          `"${scope}" is among scopes too: a token carrying it would be served past every rule, whatever scopes it grants`,
        ]);
      }
    });
    const refs: Array<[string, readonly string[]]> = [
      ['clients', config.clients],
      ['connect.clients', config.connect.clients],
    ];
    for (const [field, ids] of refs) {
      ids.forEach((id, i) => {
        if (!known.has(id)) problems.push([`${field}[${i}]`, `no client "${id}" is registered`]);
      });
    }
    const secret = readClientSecret(config, file, env, problems);
    const { policy, problems: ruleProblems } = compileConnectionPolicy(config.rules, config.scopes);
    problems.push(...ruleProblems);
    if (problems.length > 0) throw configFailure(file, problems);
    byName.set(name, file);
    for (const audience of config.audiences) byAudience.set(audience, file);
    loaded.push({ name, file, config, clientSecret: secret!, policy });
  }
  return loaded;
}

function connectionFiles(dir: string, explicit: boolean): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // The default directory is optional: without it there are no connections and no vault.
    if (!explicit) return [];
    throw new ConfigError(`environment: CONNECTIONS_DIR: ${dir} does not exist`);
  }
  if (!isDirectory) throw new ConfigError(`environment: CONNECTIONS_DIR: ${dir} is not a directory`);
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort()
    .map((name) => resolve(dir, name));
}

function endpointProblems(config: ConnectionConfig): Array<[string, string]> {
  const { provider } = config;
  const given = (['authorization_endpoint', 'token_endpoint', 'revocation_endpoint'] as const).filter(
    (field) => provider[field] !== undefined,
  );
  if (provider.discovery === 'none') {
    return (['authorization_endpoint', 'token_endpoint'] as const)
      .filter((field) => provider[field] === undefined)
      .map((field) => [`provider.${field}`, 'required with discovery: none']);
  }
  const flag: Array<[string, string]> =
    provider.authorization_response_iss_parameter_supported === undefined
      ? []
      : [
          [
            'provider.authorization_response_iss_parameter_supported',
            `is discovered (discovery: ${provider.discovery}); give it only with discovery: none`,
          ],
        ];
  return [
    ...given.map((field): [string, string] => [
      `provider.${field}`,
      `is discovered (discovery: ${provider.discovery}); give endpoints only with discovery: none`,
    ]),
    ...flag,
  ];
}

function readClientSecret(
  config: ConnectionConfig,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: Array<[string, string]>,
): SecretValue | undefined {
  const sources = [config.client_secret_env, config.client_secret_file].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    problems.push(['client_secret_env', 'give exactly one of client_secret_env, client_secret_file']);
    return undefined;
  }
  return readSecretSource(config, file, env, problems);
}

/** The ring the vault encrypts with: VAULT_KEYS, or (development, memory store) one generated now. */
export function vaultKeyRing(vault: VaultConfig, mode: RunMode, databaseUrl: string | undefined): KeyRing {
  if (vault.keys) return vault.keys;
  if (mode === 'development' && databaseUrl === undefined) return KeyRing.ephemeral();
  throw new ConfigError('environment: VAULT_KEYS: required');
}
