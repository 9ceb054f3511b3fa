import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'selfsigned';
import { hashClientSecret } from '../../src/clients/client-secret.js';
import { startBuiltServer, type BuiltServer } from '../support/built-server.js';
import { jsonLines } from '../support/server-process.js';
import { startSlowIntrospection, type SlowIntrospection } from '../support/slow-introspection.js';
import { createTestIssuer } from '../support/test-issuer.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Stopping the built server (`node dist/main.js`, production configuration) under load: SIGTERM drains
 * in-flight requests within SHUTDOWN_TIMEOUT and exits 0; other signals do not stop it. In-flight
 * requests are made slow by an introspection endpoint that answers after UPSTREAM_DELAY_MS.
 */

const UPSTREAM_DELAY_MS = 1500;
const SHUTDOWN_TIMEOUT_S = 10;
const IN_FLIGHT = 16;
const SECRET = 'svc-secret-0123456789abcdef';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'https://api.example/';
const BASIC = `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`;

let upstream: SlowIntrospection;
/** Every introspection request body the upstream received, in order. */
const introspected: string[] = [];
let upstreamUrl: string;
const servers: BuiltServer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  // Every token is active, after a delay (a minute for the hanging one).
  upstream = await startSlowIntrospection((body) => {
    introspected.push(body);
    return body.includes('hanging-token') ? 60_000 : UPSTREAM_DELAY_MS;
  });
  upstreamUrl = upstream.url;
});

afterAll(() => upstream.close());

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.dispose();
});

async function start(env: Record<string, string> = {}): Promise<BuiltServer> {
  const anchorKeys = await createTestIssuer(upstreamUrl);
  const server = await startBuiltServer({
    anchors: {
      upstream: {
        issuer: upstreamUrl,
        jwks: anchorKeys.publicJwks,
        audiences: ['https://sts.example'],
        introspection: {
          endpoint: `${upstreamUrl}/introspect`,
          client_id: 'actbridge',
          client_secret_env: 'INTROSPECTION_SECRET',
          clients: ['svc'],
          cache_ttl: 0,
        },
      },
    },
    clients: [
      {
        client_id: 'svc',
        token_endpoint_auth_method: 'client_secret_basic',
        client_secret_hash: await hashClientSecret(SECRET),
        audiences: [API],
        default_audience: API,
      },
    ],
    env: {
      INTROSPECTION_SECRET: 'actbridge-at-upstream-0123456789',
      SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
      ...env,
    },
  });
  servers.push(server);
  return server;
}

const exchangeBody = (token: string) =>
  new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: token,
    subject_token_type: ACCESS_TOKEN,
  }).toString();

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** A token exchange over a keep-alive connection of `agent`; rejects on any connection failure. */
function exchange(server: BuiltServer, agent: Agent, token: string, tls?: { ca: string }): Promise<Answer> {
  const body = exchangeBody(token);
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : request)(
      tls ? `https://localhost:${server.port}/oauth/token` : `${server.baseUrl}/oauth/token`,
      {
        method: 'POST',
        agent,
        ...(tls ? { ca: tls.ca } : {}),
        headers: {
          authorization: BASIC,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function rawSocket(server: BuiltServer): Promise<{ socket: Socket; received(): string; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    sockets.push(socket);
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    const closedAt = new Promise<number>((done) => socket.on('close', () => done(Date.now())));
    socket.once('connect', () => resolve({ socket, received: () => data, closedAt }));
    socket.once('error', reject);
  });
}

const auditLines = (server: BuiltServer) => jsonLines(readFileSync(server.auditFile, 'utf8'));

describe('SIGTERM under load', () => {
  it('answers every in-flight request (Connection: close), refuses and audits late ones, closes idle connections, exits 0 in time', async () => {
    const server = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

    // An idle keep-alive connection: one request answered, then nothing.
    const idle = await rawSocket(server);
    idle.socket.write('GET /health/live HTTP/1.1\r\nHost: sts\r\n\r\n');
    while (!idle.received().includes('{"status":"live"}')) await new Promise((r) => setTimeout(r, 10));
    // A request whose headers are still arriving at the signal, and complete after it.
    const late = await rawSocket(server);
    const lateBody = exchangeBody('late-token');
    late.socket.write(
      `POST /oauth/token HTTP/1.1\r\nHost: sts\r\nauthorization: ${BASIC}\r\ncontent-type: application/x-www-form-urlencoded\r\n`,
    );

    const introspectedBefore = introspected.length;
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) => exchange(server, agent, `opaque-token-${i}`));
    // Every exchange now waits on the introspection endpoint (a fixed sleep could end before the last arrived).
    await waitFor(
      () => introspected.slice(introspectedBefore).filter((body) => body.includes('opaque-token-')).length >= IN_FLIGHT,
      `all ${IN_FLIGHT} exchanges at the introspection endpoint`,
      10_000,
    );
    const signalled = Date.now();
    server.child.kill('SIGTERM');

    expect((await idle.closedAt) - signalled).toBeLessThan(1000); // at once, not after KEEP_ALIVE_TIMEOUT_MS
    await server.waitFor(/SIGTERM received: draining/);
    late.socket.write(`content-length: ${Buffer.byteLength(lateBody)}\r\n\r\n${lateBody}`);
    await expect(
      new Promise((resolve, reject) => {
        const probe = connect(server.port, '127.0.0.1');
        sockets.push(probe);
        probe.once('connect', () => reject(new Error('a new connection was accepted during the drain')));
        probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      }),
    ).resolves.toBe('ECONNREFUSED');

    const answers = await Promise.all(inFlight);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'Bearer', issued_token_type: ACCESS_TOKEN });
      expect(answer.headers.connection).toBe('close');
    }
    await late.closedAt;
    expect(late.received()).toMatch(
      /^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*\r\n\r\n\{"error":"temporarily_unavailable","error_description":"the server is shutting down; retry the request"\}$/,
    );
    expect(late.received()).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(late.received()).toMatch(/\r\nconnection: close\r\n/i);

    expect(await server.exited).toEqual({ code: 0, signal: null });
    const stoppedAfter = Date.now() - signalled;
    expect(stoppedAfter).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
    // Once the exchanges are answered, well before SHUTDOWN_TIMEOUT (slack for a busy machine).
    expect(stoppedAfter).toBeLessThan(UPSTREAM_DELAY_MS + 5000);
    expect(server.output()).toContain(
      `SIGTERM received: draining ${IN_FLIGHT} in-flight request(s), accepting no new connections (SHUTDOWN_TIMEOUT ${SHUTDOWN_TIMEOUT_S} s)`,
    );
    expect(server.output()).toMatch(
      new RegExp(
        `stopped in \\d+ ms: ${IN_FLIGHT} request\\(s\\) answered and 1 refused during the drain; exit code 0`,
      ),
    );

    // One audit line per request: the exchanges issued, the late one refused.
    const lines = auditLines(server);
    expect(lines.filter((line) => line.event === 'token.issued')).toHaveLength(IN_FLIGHT);
    expect(lines.filter((line) => line.event === 'token.refused')).toEqual([
      expect.objectContaining({
        error: 'temporarily_unavailable',
        reason: 'refused while draining (SIGTERM)',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
    ]);
    expect(lines).toHaveLength(IN_FLIGHT + 1);
    agent.destroy();
  }, 30_000);

  it('cuts a client still sending its request once REQUEST_TIMEOUT_MS has passed in the drain', async () => {
    const server = await start({ REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '2000' });
    const slow = await rawSocket(server);
    slow.socket.write('POST /oauth/token HTTP/1.1\r\nHost: sts\r\n');
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    await server.waitFor(/SIGTERM received: draining 0 in-flight/);
    // Node's own timeout checks stop with the server: the drain applies the bound itself.
    expect((await slow.closedAt) - signalled).toBeLessThan(2000 + 1000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('closed 1 connection(s) still sending their request (REQUEST_TIMEOUT_MS)');
  });
});

describe('SIGTERM on the TLS listener (TLS_CERT_FILE)', () => {
  it('answers the in-flight requests still running once REQUEST_TIMEOUT_MS has passed in the drain', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'actbridge-shutdown-tls-'));
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, pems.cert);
    writeFileSync(keyFile, pems.private);
    // The upstream answers after 1.5 s: past REQUEST_TIMEOUT_MS (1 s) in the drain, which cuts only requests still arriving.
    const server = await start({
      TLS_CERT_FILE: certFile,
      TLS_KEY_FILE: keyFile,
      REQUEST_TIMEOUT_MS: '1000',
      HEADERS_TIMEOUT_MS: '1000',
    });
    const agent = new HttpsAgent({ keepAlive: true });
    const introspectedBefore = introspected.length;
    const inFlight = [0, 1].map((i) => exchange(server, agent, `tls-token-${i}`, { ca: pems.cert }));
    await waitFor(
      () => introspected.slice(introspectedBefore).filter((body) => body.includes('tls-token-')).length >= 2,
      'both exchanges at the introspection endpoint',
      10_000,
    );
    server.child.kill('SIGTERM');
    for (const answer of await Promise.all(inFlight)) {
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('close');
    }
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).not.toContain('still sending their request');
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('SIGTERM with a request that does not finish', () => {
  it('answers it 503 with an audit line shortly before SHUTDOWN_TIMEOUT and exits by then, with code 1 and a log line', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT: '3', UPSTREAM_TIMEOUT_MS: '60000' });
    const agent = new Agent({ keepAlive: true });
    const hanging = exchange(server, agent, 'hanging-token').then(
      (answer) => answer,
      (error: NodeJS.ErrnoException) => error.code,
    );
    await new Promise((r) => setTimeout(r, 300));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalled).toBeLessThan(3000 + 500);
    // A clear, retryable refusal rather than a reset connection (which it was before).
    const answer = await hanging;
    expect(answer).toMatchObject({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'the server is shutting down; retry the request',
      },
      headers: { 'retry-after': '1', connection: 'close', 'cache-control': 'no-store' },
    });
    expect(auditLines(server)).toEqual([
      expect.objectContaining({
        event: 'token.refused',
        error: 'temporarily_unavailable',
        reason: 'cut at the drain deadline (SIGTERM)',
      }),
    ]);
    expect(server.output()).toContain(
      'drain deadline: answering 1 of 1 request(s) still in flight 503 and closing their connections',
    );
    expect(server.output()).toMatch(
      /stopped in \d+ ms: 0 request\(s\) answered and 0 refused during the drain, 1 cut at the deadline; exit code 1/,
    );
    agent.destroy();
  });
});

describe('signals that must not stop the server', () => {
  it('reloads on SIGHUP, logs and ignores SIGUSR2, then stops on SIGINT', async () => {
    const server = await start();
    server.child.kill('SIGHUP');
    server.child.kill('SIGUSR2');
    await server.waitFor(/configuration reloaded \(SIGHUP\): no changes/);
    await server.waitFor(/SIGUSR2 received: ignored/);
    const live = await fetch(`${server.baseUrl}/health/live`);
    expect(live.status).toBe(200);
    expect(server.child.exitCode).toBeNull();

    server.child.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/SIGINT received: draining 0 in-flight request\(s\)/);
    expect(server.output()).toMatch(/stopped in \d+ ms: .*; exit code 0/);
  });
});
