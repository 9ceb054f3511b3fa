import { resolve } from 'node:path';
import type { ClientConfig } from '../clients/client.config.js';
import { loadClients } from '../clients/clients-loader.js';
import { ConfigError } from '../config/config-error.js';
import { envTypos } from '../config/env-typos.js';
import type { RunMode } from '../config/run-mode.js';
import { envSettingNames, loadServerConfig, ServerConfig } from '../config/server-config.js';
import { configFailure } from '../config/validate-config.js';
import { loadTrustAnchors, type LoadedTrustAnchor } from '../trust-anchors/anchor-loader.js';
import {
  connectionSecretVariables,
  loadVaultConfig,
  vaultProductionProblems,
  type VaultConfig,
} from '../vault/vault-config.js';
import { resolveWorkers, type WorkerCount } from './worker-count.js';

/** The whole configuration, validated. Built once at startup; nothing reads env or files afterwards. */
export interface StsConfig {
  readonly mode: RunMode;
  readonly server: ServerConfig;
  readonly clients: readonly ClientConfig[];
  readonly anchors: readonly LoadedTrustAnchor[];
  /** Token vault connections (`CONNECTIONS_DIR`) and key-encryption keys. */
  readonly vault: VaultConfig;
  /** The environment it was loaded from, kept so a reload (SIGHUP) re-reads the files, never the environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Server processes (WORKERS, resolved). */
  readonly workers: WorkerCount;
}

/**
 * Loads and validates everything, or throws a ConfigError naming the file (or env var) and field.
 * In production it also refuses what is only safe for development (see productionProblems).
 */
export function loadStsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  mode: RunMode = 'production',
): StsConfig {
  const server = loadServerConfig(env, mode);
  if (server.tokenTtl > server.maxTokenTtl) {
    throw new ConfigError(`environment: TOKEN_TTL (${server.tokenTtl}) exceeds MAX_TOKEN_TTL (${server.maxTokenTtl})`);
  }
  if (server.idJagTtl > server.maxTokenTtl) {
    throw new ConfigError(`environment: ID_JAG_TTL (${server.idJagTtl}) exceeds MAX_TOKEN_TTL (${server.maxTokenTtl})`);
  }
  if (server.headersTimeoutMs > server.requestTimeoutMs) {
    throw new ConfigError(
      `environment: HEADERS_TIMEOUT_MS (${server.headersTimeoutMs}) exceeds REQUEST_TIMEOUT_MS (${server.requestTimeoutMs})`,
    );
  }
  if (server.managementPort !== 0 && server.managementPort === server.port) {
    throw new ConfigError(
      `environment: MANAGEMENT_PORT (${server.managementPort}) must differ from PORT, or be 0 (off)`,
    );
  }
  const clients = loadClients(resolve(server.clientsFile), server);
  const anchors = loadTrustAnchors(resolve(server.trustAnchorsDir), server, env);
  checkAnchorClientRefs(anchors, clients);
  const vault = loadVaultConfig(server, clients, env);
  const config = { mode, server, clients, anchors, vault, env: Object.freeze({ ...env }) };
  if (mode === 'production') {
    const problems = productionProblems(config, env);
    if (problems.length === 1) throw new ConfigError(problems[0]);
    if (problems.length > 1) throw new ConfigError(`refusing to start in production:\n  ${problems.join('\n  ')}`);
  }
  return { ...config, workers: resolveWorkers(mode, server, vault) };
}

/**
 * What would make a production start insecure, one line each: the embedded development defaults
 * (ephemeral key, demo anchors, plaintext secrets) and settings mistyped into nothing.
 */
export function productionProblems(
  config: Omit<StsConfig, 'workers'>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  // Variables an anchor names for its secrets are the operator's own, whatever they look like.
  const referenced = new Set([
    ...config.anchors.flatMap((a) => a.config.introspection?.client_secret_env ?? []),
    ...connectionSecretVariables(config.vault),
  ]);
  const unrelated = Object.fromEntries(Object.entries(env).filter(([name]) => !referenced.has(name)));
  for (const { name, suggestion } of envTypos(unrelated, envSettingNames())) {
    problems.push(`environment: ${name} is not an actbridge setting; did you mean ${suggestion}?`);
  }
  if (config.server.signingKeys === undefined) {
    problems.push(
      'environment: SIGNING_KEYS: required in production (a JWK/JWKS/PEM file or a directory of them); `npm start` runs the development defaults',
    );
  }
  for (const anchor of config.anchors) {
    if (anchor.config.development_only) {
      problems.push(
        `${anchor.file}: development_only: a development anchor (its private key may be public) cannot be trusted in production; remove the file`,
      );
    }
  }
  // jose's createRemoteJWKSet refetches on an unknown kid at most every 30 s: a shorter lead lets a new
  // key sign before such resource servers can have seen it (docs/keys.md "Resource servers").
  if (config.server.signingKeysPublishLead <= 30) {
    problems.push(
      `environment: SIGNING_KEYS_PUBLISH_LEAD (${config.server.signingKeysPublishLead}) must exceed 30 in production: resource servers refetch a JWKS on an unknown kid at most every 30 s`,
    );
  }
  problems.push(...vaultProductionProblems(config.server, config.vault));
  const file = resolve(config.server.clientsFile);
  config.clients.forEach((client, i) => {
    if (client.client_secret !== undefined) {
      problems.push(
        `${file}: clients[${i}].client_secret: plaintext secret for "${client.client_id}"; use client_secret_hash (npm run hash-secret)`,
      );
    }
  });
  return problems;
}

/**
 * Checks that anchors name registered clients (`client_ids` keys, `introspection.clients`) and that
 * no client is bound to two introspecting anchors: an opaque token carries no issuer, so a client
 * with two bindings would make the routing ambiguous.
 */
export function checkAnchorClientRefs(anchors: readonly LoadedTrustAnchor[], clients: readonly ClientConfig[]): void {
  const known = new Set(clients.map((c) => c.client_id));
  const boundTo = new Map<string, string>();
  for (const anchor of anchors) {
    const problems: Array<[path: string, message: string]> = [];
    for (const clientId of Object.keys(anchor.config.client_ids)) {
      if (!known.has(clientId)) problems.push([`client_ids.${clientId}`, `no client "${clientId}" is registered`]);
    }
    (anchor.config.introspection?.clients ?? []).forEach((clientId, i) => {
      const at = `introspection.clients[${i}]`;
      if (!known.has(clientId)) problems.push([at, `no client "${clientId}" is registered`]);
      const other = boundTo.get(clientId);
      if (other) {
        problems.push([
          at,
          `client "${clientId}" is already bound to ${other}: an opaque token's issuer would be ambiguous`,
        ]);
      }
      boundTo.set(clientId, anchor.file);
    });
    if (problems.length > 0) throw configFailure(anchor.file, problems);
  }
}
