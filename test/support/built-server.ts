import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { stringify } from 'yaml';
import { freePort } from './free-port.js';
import { spawnServer, waitForOutput } from './server-process.js';

/** The built server (`node dist/main.js`, as deployed), in a process of its own. */
export interface BuiltServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  readonly dir: string;
  readonly auditFile: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Kills it if still running, removes its files. */
  dispose(): Promise<void>;
}

export interface BuiltServerOptions {
  /** Trust-anchor files: name -> YAML content. */
  readonly anchors: Record<string, Record<string, unknown>>;
  readonly clients: Array<Record<string, unknown>>;
  readonly env?: Record<string, string>;
}

/**
 * Starts `dist/main.js` configured as in production: real signing keys (a directory holding a generated
 * ES256 JWK, kid `sts-1`),
 * the given anchors and clients, audit lines to a file. `npm test` builds dist first.
 */
export async function startBuiltServer(options: BuiltServerOptions): Promise<BuiltServer> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-built-'));
  const anchorsDir = join(dir, 'trust-anchors');
  mkdirSync(anchorsDir);
  for (const [name, content] of Object.entries(options.anchors)) {
    writeFileSync(join(anchorsDir, `${name}.yaml`), stringify(content));
  }
  writeFileSync(join(dir, 'clients.yaml'), stringify({ clients: options.clients }));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  // A key directory (one key, kid sts-1), as rotation without restarts needs.
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'sts-1.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'sts-1' }));
  const port = await freePort();
  const auditFile = join(dir, 'audit.log');
  const { child, output, exited } = spawnServer([], {
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    TRUST_ANCHORS_DIR: anchorsDir,
    CLIENTS_FILE: join(dir, 'clients.yaml'),
    SIGNING_KEYS: join(dir, 'keys'),
    AUDIT_LOG: auditFile,
    // Servers of several suites run at once: the management listener only where a test asks for one.
    MANAGEMENT_PORT: '0',
    ...options.env,
  });
  const server: BuiltServer = {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dir,
    auditFile,
    output,
    exited,
    waitFor: (pattern, timeoutMs = 15_000) => waitForOutput(server, pattern, timeoutMs),
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.waitFor(/listening on 127\.0\.0\.1:\d+/);
  return server;
}
