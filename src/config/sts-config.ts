import { basename, resolve } from 'node:path';
import { ClientConfig, ClientsFile } from '../clients/client.config.js';
import { compileAnchorPolicy, type AnchorPolicy } from '../policy/anchor-policy.js';
import { checkAnchorClientRefs, checkTokenSettings } from '../trust-anchors/anchor-token-settings.js';
import type { SecretValue } from '../trust-anchors/secret-value.js';
import { checkAnchorKind } from '../trust-anchors/saml-anchor.loader.js';
import { TrustAnchorConfig } from '../trust-anchors/trust-anchor.config.js';
import {
  connectionSecretVariables,
  loadVaultConfig,
  vaultProductionProblems,
  type VaultConfig,
} from '../vault/vault-config.js';
import { ConfigError } from './config-error.js';
import { listYamlFiles, readJwksFile, readYamlFile } from './config-files.js';
import { envSettingNames, loadServerConfig, ServerConfig } from './server-config.js';
import { envTypos } from './env-typos.js';
import type { RunMode } from './run-mode.js';
import { configFailure, validateConfig } from './validate-config.js';

/** A trust anchor as loaded: its validated file, its name and where it came from. */
export interface LoadedTrustAnchor {
  readonly name: string;
  readonly file: string;
  readonly config: TrustAnchorConfig;
  /** The anchor's compiled `rules:`; undefined when the file has none. */
  readonly policy?: AnchorPolicy;
  /** `introspection:` client secret, read from its environment variable or file at startup. */
  readonly introspectionSecret?: SecretValue;
}

/** The whole configuration, validated. Built once at startup; nothing reads env or files afterwards. */
export interface StsConfig {
  readonly mode: RunMode;
  readonly server: ServerConfig;
  readonly clients: readonly ClientConfig[];
  readonly anchors: readonly LoadedTrustAnchor[];
  /** Token vault connections (`CONNECTIONS_DIR`) and key-encryption keys. */
  readonly vault: VaultConfig;
}

export const STS_CONFIG = Symbol('STS_CONFIG');

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
  const clients = loadClients(resolve(server.clientsFile), server);
  const anchors = loadTrustAnchors(resolve(server.trustAnchorsDir), server, env);
  checkAnchorClientRefs(anchors, clients);
  const vault = loadVaultConfig(server, clients, env);
  const config: StsConfig = { mode, server, clients, anchors, vault };
  if (mode === 'production') {
    const problems = productionProblems(config, env);
    if (problems.length === 1) throw new ConfigError(problems[0]);
    if (problems.length > 1) throw new ConfigError(`refusing to start in production:\n  ${problems.join('\n  ')}`);
  }
  return config;
}

/**
 * What would make a production start insecure, one line each: the embedded development defaults
 * (ephemeral key, demo anchors, plaintext secrets) and settings mistyped into nothing.
 */
export function productionProblems(config: StsConfig, env: Readonly<Record<string, string | undefined>>): string[] {
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

export function loadClients(
  file: string,
  server: Pick<ServerConfig, 'maxTokenTtl'> & Partial<Pick<ServerConfig, 'issuer'>>,
): ClientConfig[] {
  const { clients } = validateConfig(ClientsFile, readYamlFile(file), file);
  const problems: Array<[string, string]> = [];
  const seen = new Set<string>();
  clients.forEach((client, i) => {
    const at = `clients[${i}]`;
    if (seen.has(client.client_id)) problems.push([`${at}.client_id`, `duplicate client_id "${client.client_id}"`]);
    seen.add(client.client_id);

    const secrets = [client.client_secret, client.client_secret_hash].filter((v) => v !== undefined).length;
    const keySources = [client.jwks, client.jwks_file, client.jwks_uri].filter((v) => v !== undefined).length;
    if (client.token_endpoint_auth_method === 'private_key_jwt') {
      if (keySources !== 1) problems.push([at, 'private_key_jwt needs exactly one of jwks, jwks_file, jwks_uri']);
      if (secrets > 0) problems.push([at, 'private_key_jwt clients must not have a client secret']);
    } else {
      if (secrets !== 1) {
        problems.push([
          at,
          `${client.token_endpoint_auth_method} needs exactly one of client_secret, client_secret_hash`,
        ]);
      }
      if (keySources > 0) problems.push([at, `${client.token_endpoint_auth_method} clients must not have jwks`]);
    }
    if (client.jwks_file !== undefined) client.jwks = readJwksFile(client.jwks_file, file, `${at}.jwks_file`);
    if (client.jwks && client.jwks.keys.some((k) => 'd' in k)) {
      problems.push([`${at}.jwks`, 'must hold public keys only (a key has "d")']);
    }
    if (client.default_audience !== undefined && !client.audiences.includes(client.default_audience)) {
      problems.push([`${at}.default_audience`, 'must be one of audiences']);
    }
    if (client.token_ttl !== undefined && client.token_ttl > server.maxTokenTtl) {
      problems.push([`${at}.token_ttl`, `exceeds MAX_TOKEN_TTL (${server.maxTokenTtl})`]);
    }
    if (client.id_jag) problems.push(...idJagProblems(client.id_jag, `${at}.id_jag`, server));
  });
  if (problems.length > 0) throw configFailure(file, problems);
  return clients;
}

/** Cross-field rules of a client's `id_jag:` section. */
function idJagProblems(
  policy: NonNullable<ClientConfig['id_jag']>,
  at: string,
  server: Pick<ServerConfig, 'maxTokenTtl'> & Partial<Pick<ServerConfig, 'issuer'>>,
): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (policy.ttl !== undefined && policy.ttl > server.maxTokenTtl) {
    problems.push([`${at}.ttl`, `exceeds MAX_TOKEN_TTL (${server.maxTokenTtl})`]);
  }
  const seen = new Set<string>();
  policy.targets.forEach((target, i) => {
    if (seen.has(target.audience)) problems.push([`${at}.targets[${i}].audience`, 'duplicate audience']);
    seen.add(target.audience);
    // ID-JAG §9.3: an ID-JAG never comes back to the domain that issued it.
    if (target.audience === server.issuer) {
      problems.push([`${at}.targets[${i}].audience`, "is actbridge's own issuer; an ID-JAG must cross a domain"]);
    }
  });
  return problems;
}

export function loadTrustAnchors(
  dir: string,
  server: Pick<ServerConfig, 'issuer'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedTrustAnchor[] {
  return loadTrustAnchorFiles(listYamlFiles(dir), server, env);
}

/** Loads the given anchor files (any name; `npm run policy:test` loads `*.yaml.example` files this way). */
export function loadTrustAnchorFiles(
  files: readonly string[],
  server: Pick<ServerConfig, 'issuer'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedTrustAnchor[] {
  const anchors: LoadedTrustAnchor[] = [];
  const byIssuer = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const file of files) {
    const raw = readYamlFile(file);
    const config = validateConfig(TrustAnchorConfig, raw, file);
    const name = config.name ?? basename(file).replace(/\.ya?ml(\.example)?$/i, '');
    const problems: Array<[string, string]> = checkAnchorKind(raw, config, file);
    const sources = [config.discovery, config.jwks_uri, config.jwks, config.jwks_file].filter((v) => v !== undefined);
    if (sources.length > 1) {
      problems.push(['discovery', 'give at most one key source: discovery, jwks_uri, jwks or jwks_file']);
    }
    if (config.jwks_file !== undefined) config.jwks = readJwksFile(config.jwks_file, file, 'jwks_file');
    if (config.jwks && config.jwks.keys.some((k) => 'd' in k)) {
      problems.push(['jwks', 'must hold public keys only (a key has "d")']);
    }
    if (config.issuer === server.issuer) {
      problems.push(['issuer', "is actbridge's own issuer; its own tokens are trusted without an anchor file"]);
    }
    const otherIssuer = byIssuer.get(config.issuer);
    if (otherIssuer) problems.push(['issuer', `already configured in ${otherIssuer}`]);
    const otherName = byName.get(name);
    if (otherName) problems.push(['name', `"${name}" already used by ${otherName}`]);
    const tokenSettings = checkTokenSettings(config, file, env);
    problems.push(...tokenSettings.problems);
    if (problems.length > 0) throw configFailure(file, problems);
    byIssuer.set(config.issuer, file);
    byName.set(name, file);
    // Every rule expression is compiled now: a syntax or type error stops startup, naming file and rule.
    const policy =
      config.rules === undefined ? undefined : compileAnchorPolicy(file, name, config.rules, config.trusted_for_chains);
    anchors.push({
      name,
      file,
      config,
      introspectionSecret: tokenSettings.introspectionSecret,
      ...(policy ? { policy } : {}),
    });
  }
  return anchors;
}
