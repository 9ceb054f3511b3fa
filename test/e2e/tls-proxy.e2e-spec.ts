import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'selfsigned';
import { createApp, readTlsFiles } from '../../src/app/app.factory.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadStsConfig } from '../../src/app/sts-config.js';
import { freePort } from '../support/free-port.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { GRANT_TOKEN_EXCHANGE, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { jsonRequest } from '../support/node-request.js';

/** The native TLS listener (TLS_CERT_FILE/TLS_KEY_FILE) and the client address behind proxies (TRUST_PROXY). */

const AUDIENCE = 'urn:actbridge:tls';
const CLIENT = {
  client_id: 'svc',
  token_endpoint_auth_method: 'client_secret_post',
  client_secret: 'svc-secret-of-some-length',
  audiences: ['https://api.example.com'],
  default_audience: 'https://api.example.com',
};

let idp: TestIssuer;
let dir: string;
let cert: string;
const apps: TestApp[] = [];

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.tls.example');
  dir = mkdtempSync(join(tmpdir(), 'actbridge-tls-'));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  cert = pems.cert;
  writeFileSync(join(dir, 'clients.yaml'), 'clients: []\n');
  mkdirSync(join(dir, 'anchors'));
  writeFileSync(join(dir, 'tls.crt'), pems.cert);
  writeFileSync(join(dir, 'tls.key'), pems.private);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(env: Record<string, string>, port?: number): Promise<TestApp> {
  const app = await startTestApp({
    anchors: { idp: { issuer: idp.issuer, audiences: [AUDIENCE], jwks: idp.publicJwks } },
    clients: [CLIENT],
    env,
    ...(port ? { port } : {}),
  });
  apps.push(app);
  return app;
}

/** Starts actbridge with its own TLS listener (the fixture certificate) on a free port; resolves to the port. */
async function startTls(env: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  const tls = { TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'tls.key') };
  await start({ ISSUER: `https://localhost:${port}`, ...tls, ...env }, port);
  return port;
}

async function exchangeForm(): Promise<URLSearchParams> {
  return new URLSearchParams({
    grant_type: GRANT_TOKEN_EXCHANGE,
    client_id: CLIENT.client_id,
    client_secret: CLIENT.client_secret,
    subject_token: await idp.mint({ sub: 'alice', aud: AUDIENCE }),
    subject_token_type: TT.accessToken,
  });
}

describe('TLS listener', () => {
  it('serves the token endpoint over HTTPS with the configured certificate', async () => {
    const port = await startTls();
    const body = (await exchangeForm()).toString();
    const response = await jsonRequest(
      (onResponse) =>
        request(
          {
            host: 'localhost',
            port,
            path: '/oauth/token',
            method: 'POST',
            ca: cert, // the client trusts this certificate only, and checks the host name against it
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
          },
          onResponse,
        ),
      body,
    );
    expect(response).toMatchObject({ status: 200, json: { token_type: 'Bearer' } });
    // Plain HTTP on the TLS port gets nowhere.
    await expect(fetch(`http://localhost:${port}/health/live`)).rejects.toThrow();
  });

  it('bounds slow headers by HEADERS_TIMEOUT_MS over TLS as over plain HTTP', async () => {
    const port = await startTls({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '30000' });
    // Headers begun and never finished: cut at HEADERS_TIMEOUT_MS (Node checks once a second), not at
    // REQUEST_TIMEOUT_MS or Node's own defaults, which a listener given only its certificate would keep.
    const socket = tlsConnect({ host: 'localhost', port, ca: cert });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    const opened = Date.now();
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    socket.write('POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n');
    // Waited for no longer than the bound and its slack: a socket still open then is the failure.
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000 + 1000 + 5000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    socket.destroy();
    expect({ closed, within: Date.now() - opened < 1000 + 1000 + 5000 }).toEqual({ closed: true, within: true });
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(received).toMatch(/\{"error":"invalid_request","error_description":"request timed out"\}$/);
  });

  it('refuses to start on files that are not a certificate and its key, naming them', async () => {
    writeFileSync(join(dir, 'junk.pem'), 'not a pem');
    const config = loadStsConfig(
      {
        TRUST_ANCHORS_DIR: join(dir, 'anchors'),
        CLIENTS_FILE: join(dir, 'clients.yaml'),
        TLS_CERT_FILE: join(dir, 'junk.pem'),
        TLS_KEY_FILE: join(dir, 'tls.key'),
      },
      'development',
    );
    await expect(createApp(config, { logger: false })).rejects.toThrow(ConfigError);
    await expect(createApp(config, { logger: false })).rejects.toThrow(
      new RegExp(
        `^${join(dir, 'junk.pem')}, ${join(dir, 'tls.key')}: not a PEM certificate chain and its private key \\(.*\\) \\(TLS_CERT_FILE, TLS_KEY_FILE\\)$`,
      ),
    );
  });
  it('refuses a certificate or key given inline instead of a path without repeating it (no private key in the logs)', () => {
    for (const [variable, cert, key] of [
      ['TLS_KEY_FILE', join(dir, 'tls.crt'), readFileSync(join(dir, 'tls.key'), 'utf8')],
      ['TLS_CERT_FILE', readFileSync(join(dir, 'tls.crt'), 'utf8'), join(dir, 'tls.key')],
    ] as const) {
      expect(() => readTlsFiles(cert, key)).toThrow(
        new ConfigError(
          `environment: ${variable}: is not a path; give the path of a PEM file, not its content (the value is not repeated here)`,
        ),
      );
    }
  });
});

describe('client address in audit lines (TRUST_PROXY)', () => {
  async function clientIp(app: TestApp, headers: Record<string, string>): Promise<unknown> {
    const before = app.audit.lines.length;
    const response = await fetch(app.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: await exchangeForm(),
    });
    expect(response.status).toBe(200);
    const lines = app.audit.lines.slice(before);
    expect(lines).toHaveLength(1);
    return lines[0]!.client_ip;
  }

  it('without TRUST_PROXY: the socket peer, whatever X-Forwarded-For says', async () => {
    const app = await start({});
    expect(await clientIp(app, { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });

  it('through a trusted proxy: the address it forwarded', async () => {
    const app = await start({ TRUST_PROXY: '127.0.0.1' });
    expect(await clientIp(app, { 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
    // A caller cannot slip in an address of its own: only the hop the trusted proxy added counts.
    expect(await clientIp(app, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).toBe('203.0.113.7');
  });

  it('through an untrusted peer: the peer', async () => {
    const app = await start({ TRUST_PROXY: '10.0.0.0/8' });
    expect(await clientIp(app, { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });

  it('refusals carry it too', async () => {
    const app = await start({ TRUST_PROXY: 'loopback' });
    const response = await fetch(app.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9' },
      body: new URLSearchParams({ grant_type: 'password' }),
    });
    expect(response.status).toBe(400);
    expect(app.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', client_ip: '203.0.113.9' });
  });
});
