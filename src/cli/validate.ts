import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadStartupState, readTlsFiles } from '../app/app.factory.js';
import { loadStsConfig } from '../app/sts-config.js';
import { auditTargets } from '../audit/audit-sink.js';
import { ConfigError } from '../config/config-error.js';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { KEYS } from '../keys/key-service.js';
import { ANCHORS } from '../trust-anchors/anchor-index.js';

/**
 * `actbridge validate [start-dev]`: loads the configuration exactly as `serve` (or `start-dev`) would
 * (environment, trust anchors, clients, connections, signing keys, TLS files, the production refusals)
 * and builds what the server indexes, then stops: nothing listens, nothing is fetched, Redis and
 * PostgreSQL are not contacted. Returns the summary line; throws the ConfigError startup would.
 */
export async function validateConfiguration(
  env: Readonly<Record<string, string | undefined>>,
  mode: RunMode,
): Promise<string> {
  const config = loadStsConfig(env, mode);
  const { server } = config;
  if (server.tlsCertFile && server.tlsKeyFile) readTlsFiles(server.tlsCertFile, server.tlsKeyFile);
  checkAuditLog(server);
  const { live } = await loadStartupState(config);
  const keys = live.generation.get(KEYS);
  const anchors = live.generation.get(ANCHORS).anchors.filter((a) => !a.self);
  return (
    `configuration valid (${mode === 'production' ? 'serve' : 'start-dev'}): issuer ${server.issuer}; ` +
    `${anchors.length} trust anchor(s), ${config.clients.length} client(s), ${config.vault.connections.length} connection(s); ` +
    `signing kid ${keys.active.kid}${keys.ephemeral ? ' (ephemeral)' : ''}, publishing ${keys.published.length} key(s)`
  );
}

/** Startup opens AUDIT_LOG for appending; validate only checks it could, creating nothing. */
function checkAuditLog(server: Pick<ServerConfig, 'auditLog'>): void {
  // Parsed as startup parses it: `stdout,/var/log/audit.log` names a stream and a file, not one path.
  const { file } = auditTargets(server.auditLog);
  if (file === undefined) return;
  const path = existsSync(file) ? file : dirname(file);
  try {
    accessSync(path, constants.W_OK);
    // A directory is writable but cannot be opened for appending (startup fails with EISDIR).
    if (path === file && statSync(file).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
  } catch (error) {
    throw new ConfigError(`AUDIT_LOG: cannot open ${file} for appending (${(error as NodeJS.ErrnoException).code})`);
  }
}
