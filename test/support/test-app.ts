import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { stringify } from 'yaml';
import { createApp } from '../../src/app/app.factory.js';
import { MemoryAuditSink } from '../../src/audit/audit-sink.js';
import type { RunMode } from '../../src/config/run-mode.js';
import { loadStsConfig, type StsConfig } from '../../src/app/sts-config.js';
import { freePort } from './free-port.js';

export interface TestAppOptions {
  /** Trust-anchor files: name -> YAML content (as an object). */
  readonly anchors?: Record<string, Record<string, unknown>>;
  readonly clients: Array<Record<string, unknown>>;
  /** Token vault connection files: name -> YAML content (written to CONNECTIONS_DIR). */
  readonly connections?: Record<string, Record<string, unknown>>;
  /** Extra environment settings (e.g. SIGNING_KEYS, MAX_CHAIN_DEPTH). */
  readonly env?: Record<string, string>;
  /** Listen on this port (default: a free one). */
  readonly port?: number;
  /** Default `development` (ephemeral key, plaintext secrets), as most suites need; `production` for its checks. */
  readonly mode?: RunMode;
}

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly config: StsConfig;
  readonly issuer: string;
  /** Where this instance listens (differs from the issuer when several instances share one). */
  readonly baseUrl: string;
  readonly tokenEndpoint: string;
  readonly audit: MemoryAuditSink;
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * Starts actbridge on loopback exactly as main.ts does, from config files written to a temp dir and
 * read back through the real loader.
 */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-test-'));
  const anchorsDir = join(dir, 'trust-anchors');
  mkdirSync(anchorsDir);
  for (const [name, content] of Object.entries(options.anchors ?? {})) {
    writeFileSync(join(anchorsDir, `${name}.yaml`), stringify(content));
  }
  writeFileSync(join(dir, 'clients.yaml'), stringify({ clients: options.clients }));
  const connectionsDir = join(dir, 'connections');
  mkdirSync(connectionsDir);
  for (const [name, content] of Object.entries(options.connections ?? {})) {
    writeFileSync(join(connectionsDir, `${name}.yaml`), stringify(content));
  }
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadStsConfig(
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      TRUST_ANCHORS_DIR: anchorsDir,
      CLIENTS_FILE: join(dir, 'clients.yaml'),
      CONNECTIONS_DIR: connectionsDir,
      LOG_LEVEL: 'error',
      // The management listener is started by the suites that test it, on a port they choose.
      MANAGEMENT_PORT: '0',
      ...options.env,
    },
    options.mode ?? 'development',
  );
  const audit = new MemoryAuditSink();
  const app = await createApp(config, { auditSink: audit, logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    config,
    issuer: config.server.issuer,
    baseUrl: `http://127.0.0.1:${port}`,
    tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`,
    audit,
    dir,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
      // Let fetch's connection pool see the FINs of the closed keep-alive sockets before a test restarts
      // a server on the same port; otherwise the next request may go out on a dead pooled socket.
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TT = {
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  saml2: 'urn:ietf:params:oauth:token-type:saml2',
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
} as const;

export interface TokenResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** POSTs a form to the token endpoint over real HTTP; returns status, headers and parsed JSON. */
export async function postToken(
  app: Pick<TestApp, 'tokenEndpoint'>,
  form: Record<string, string | readonly string[] | undefined>,
  init: { basic?: [string, string]; headers?: Record<string, string> } = {},
): Promise<TokenResponse> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (value === undefined) continue;
    for (const v of typeof value === 'string' ? [value] : value) body.append(name, v);
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...init.headers };
  if (init.basic) {
    const [id, secret] = init.basic.map((v) => encodeURIComponent(v));
    headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  }
  const response = await fetch(app.tokenEndpoint, { method: 'POST', headers, body });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { unparsable: text };
  }
  return { status: response.status, headers: response.headers, body: json };
}

/**
 * POSTs a form to `path` of the app, authenticated with HTTP Basic (`basic`: client id and secret, as
 * they are); status and parsed JSON (undefined for an empty body).
 */
export async function postForm(
  app: Pick<TestApp, 'baseUrl'>,
  path: string,
  form: Record<string, string>,
  basic: readonly [string, string],
): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Decodes a JWT's payload without verifying it (assertions on what was issued). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
