import { readJwksFile, readYamlFile } from '../config/config-files.js';
import { secretKeyProblem } from '../config/config-validators.js';
import type { ServerConfig } from '../config/server-config.js';
import { configFailure, validateConfig } from '../config/validate-config.js';
import { mcpProfileConfigProblems } from '../id-jag/mcp-profile.js';
import { ClientConfig, ClientsFile } from './client.config.js';

/** The registered clients (injection token). */
export const CLIENT_CONFIGS = Symbol('CLIENT_CONFIGS');

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
    const secret = client.jwks && secretKeyProblem(client.jwks);
    if (secret) problems.push([`${at}.jwks`, secret]);
    // RFC 8693 §2.1: a target is another service. actbridge accepts its own tokens back from every client
    // when addressed to its issuer (presented-tokens.md), so such a token would move to any client.
    if (server.issuer !== undefined && client.audiences.includes(server.issuer)) {
      problems.push([
        `${at}.audiences`,
        "includes actbridge's own issuer; a token addressed to it could be exchanged by every client",
      ]);
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
  problems.push(...mcpProfileConfigProblems(policy, at));
  return problems;
}
