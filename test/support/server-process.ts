import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { stringify } from 'yaml';
import { hashClientSecret } from '../../src/clients/client-secret.js';
import { createTestIssuer, type TestIssuer } from './test-issuer.js';

/** The repository root, where `dist/` and `npm start` live. */
export const ROOT = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns a command (default: the built server, `node dist/main.js <args>`) with only what a fresh shell
 * would have plus `env`: the repo's defaults must not depend on anything else. The one exception: the
 * management listener is off (MANAGEMENT_PORT=0) unless `env` sets it, as servers of several suites run
 * at once and would all claim port 9000.
 */
export function spawnServer(
  args: readonly string[],
  env: Record<string, string>,
  options: { command?: string; cwd?: string } = {},
): ServerProcess {
  const child = spawn(options.command ?? process.execPath, options.command ? args : ['dist/main.js', ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', MANAGEMENT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** A JSON-lines text (audit file, a process's stdout or stderr) as its parsed lines; blank lines skipped. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function waitForOutput(server: ServerProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(server.output())) {
    // A process ended by a signal has no exit code, only its signal.
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`server exited early:\n${server.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ProductionConfig {
  /** The environment `actbridge serve` needs (SIGNING_KEYS, anchors, clients, ISSUER, PORT, HOST). */
  readonly env: Record<string, string>;
  /** The one trusted issuer, whose tokens the tests mint. */
  readonly idp: TestIssuer;
  /** The audience the idp's tokens carry for actbridge. */
  readonly idpAudience: string;
  readonly client: { readonly id: string; readonly secret: string };
}

/**
 * A configuration `actbridge serve` accepts, written under `dir`: a generated signing key, one anchor
 * with a static JWKS, one client with a hashed secret. Nothing of the repository's demo setup.
 */
export async function writeProductionConfig(dir: string, port: number): Promise<ProductionConfig> {
  const idp = await createTestIssuer('https://idp.test.example');
  const idpAudience = 'urn:actbridge:test';
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'signing-key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'prod-1' }));
  mkdirSync(join(dir, 'trust-anchors'));
  writeFileSync(
    join(dir, 'trust-anchors', 'partner.yaml'),
    stringify({ issuer: idp.issuer, audiences: [idpAudience], jwks: idp.publicJwks, algorithms: ['ES256'] }),
  );
  const client = { id: 'gateway', secret: 'gateway-secret-of-some-length' };
  writeFileSync(
    join(dir, 'clients.yaml'),
    stringify({
      clients: [
        {
          client_id: client.id,
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashClientSecret(client.secret),
          grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
          audiences: ['https://api.example.com'],
          default_audience: 'https://api.example.com',
          scopes: ['read'],
        },
      ],
    }),
  );
  return {
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: `http://127.0.0.1:${port}`,
      SIGNING_KEYS: join(dir, 'signing-key.json'),
      TRUST_ANCHORS_DIR: join(dir, 'trust-anchors'),
      CLIENTS_FILE: join(dir, 'clients.yaml'),
    },
    idp,
    idpAudience,
    client,
  };
}

/** A token exchange of an idp token at `baseUrl`, as the configured client (fetch options extendable). */
export async function exchange(
  baseUrl: string,
  config: ProductionConfig,
  init: RequestInit & { dispatcher?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const subject = await config.idp.mint({ sub: 'alice', aud: config.idpAudience, scope: 'read' });
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${config.client.id}:${config.client.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'read',
    }),
    ...init,
  } as RequestInit);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
