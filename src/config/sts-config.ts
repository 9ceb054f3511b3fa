import { basename, extname, resolve } from 'node:path';
import { ClientConfig, ClientsFile } from '../clients/client.config.js';
import { checkAnchorKind } from '../trust-anchors/saml-anchor.loader.js';
import { TrustAnchorConfig } from '../trust-anchors/trust-anchor.config.js';
import { ConfigError } from './config-error.js';
import { listYamlFiles, readJwksFile, readYamlFile } from './config-files.js';
import { loadServerConfig, ServerConfig } from './server-config.js';
import { configFailure, validateConfig } from './validate-config.js';

/** A trust anchor as loaded: its validated file, its name and where it came from. */
export interface LoadedTrustAnchor {
  readonly name: string;
  readonly file: string;
  readonly config: TrustAnchorConfig;
}

/** The whole configuration, validated. Built once at startup; nothing reads env or files afterwards. */
export interface StsConfig {
  readonly server: ServerConfig;
  readonly clients: readonly ClientConfig[];
  readonly anchors: readonly LoadedTrustAnchor[];
}

export const STS_CONFIG = Symbol('STS_CONFIG');

/** Loads and validates everything, or throws a ConfigError naming the file (or env var) and field. */
export function loadStsConfig(env: Readonly<Record<string, string | undefined>> = process.env): StsConfig {
  const server = loadServerConfig(env);
  if (server.tokenTtl > server.maxTokenTtl) {
    throw new ConfigError(`environment: TOKEN_TTL (${server.tokenTtl}) exceeds MAX_TOKEN_TTL (${server.maxTokenTtl})`);
  }
  const clients = loadClients(resolve(server.clientsFile), server);
  const anchors = loadTrustAnchors(resolve(server.trustAnchorsDir), server);
  return { server, clients, anchors };
}

export function loadClients(file: string, server: Pick<ServerConfig, 'maxTokenTtl'>): ClientConfig[] {
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
  });
  if (problems.length > 0) throw configFailure(file, problems);
  return clients;
}

export function loadTrustAnchors(dir: string, server: Pick<ServerConfig, 'issuer'>): LoadedTrustAnchor[] {
  const anchors: LoadedTrustAnchor[] = [];
  const byIssuer = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const file of listYamlFiles(dir)) {
    const raw = readYamlFile(file);
    const config = validateConfig(TrustAnchorConfig, raw, file);
    const name = config.name ?? basename(file, extname(file));
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
    if (problems.length > 0) throw configFailure(file, problems);
    byIssuer.set(config.issuer, file);
    byName.set(name, file);
    anchors.push({ name, file, config });
  }
  return anchors;
}
