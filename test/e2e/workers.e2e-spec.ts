import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { hashClientSecret } from '../../src/clients/client-secret.js';
import { TOKEN_EXCHANGE_GRANT } from '../../src/oauth/grant-types.js';
import { TokenTypes } from '../../src/oauth/token-types.js';
import { startBuiltServer, type BuiltServer } from '../support/built-server.js';
import { freePort } from '../support/free-port.js';
import { childPids, connectionOwner } from '../support/process-sockets.js';
import { describeWithRedis, REDIS_TEST_URL } from '../support/redis.js';
import { startSlowIntrospection, type SlowIntrospection } from '../support/slow-introspection.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * WORKERS: the built server (`node dist/main.js`, production configuration) as a primary and worker
 * processes sharing one port. Which worker serves a connection is read from /proc, as nothing in a
 * response names the process.
 */

const describeRedis = await describeWithRedis();
const UPSTREAM_DELAY_MS = 1500;
const SECRET = 'gw-secret-0123456789abcdef';
const API = 'https://api.example/';

let idp: TestIssuer;
let upstream: SlowIntrospection;
let upstreamUrl: string;
let clientKey: CryptoKey;
let clientJwk: JWK;
const servers: BuiltServer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.workers.example');
  const pair = await generateKeyPair('ES256', { extractable: true });
  clientKey = pair.privateKey;
  clientJwk = { ...(await exportJWK(pair.publicKey)), kid: 'svc-1', alg: 'ES256' };
  // Keeps exchanges of opaque tokens in flight.
  upstream = await startSlowIntrospection(() => UPSTREAM_DELAY_MS);
  upstreamUrl = upstream.url;
});

afterAll(() => upstream.close());

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.dispose();
});

async function start(env: Record<string, string>): Promise<BuiltServer> {
  const opaque = await createTestIssuer(upstreamUrl);
  const server = await startBuiltServer({
    anchors: {
      idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: ['urn:sts'] },
      opaque: {
        issuer: upstreamUrl,
        jwks: opaque.publicJwks,
        audiences: ['https://sts.example'],
        introspection: {
          endpoint: `${upstreamUrl}/introspect`,
          client_id: 'actbridge',
          client_secret_env: 'INTROSPECTION_SECRET',
          clients: ['gw'],
          cache_ttl: 0,
        },
      },
    },
    clients: [
      {
        client_id: 'svc',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientJwk] },
        audiences: [API],
      },
      {
        client_id: 'gw',
        token_endpoint_auth_method: 'client_secret_basic',
        client_secret_hash: await hashClientSecret(SECRET),
        audiences: [API],
      },
    ],
    env: { INTROSPECTION_SECRET: 'actbridge-at-upstream-0123456789', REDIS_TIMEOUT_MS: '10000', ...env },
  });
  servers.push(server);
  return server;
}

/**
 * One connection held by each of `workers`, in their order. Connections are opened one at a time and
 * kept open (closed after the test): the primary hands each new one to the worker that has waited
 * longest, so they alternate. Searching for each worker concurrently, closing the misses, could cross
 * over on every try (each searcher's connection handed to the other's worker) and never succeed.
 */
async function connectionsTo(server: BuiltServer, workers: readonly number[]): Promise<Socket[]> {
  const held = new Map<number, Socket>();
  for (let attempt = 0; attempt < 20 && held.size < workers.length; attempt++) {
    const socket = await served(server);
    const owner = connectionOwner(workers, server.port, socket.localPort!);
    if (owner !== undefined && !held.has(owner)) held.set(owner, socket);
  }
  const missing = workers.filter((pid) => !held.has(pid));
  if (missing.length > 0) throw new Error(`no connection reached worker ${missing.join(', ')}`);
  return workers.map((pid) => held.get(pid)!);
}

/** A keep-alive connection that has been answered once (so a worker holds it). */
function served(server: BuiltServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    sockets.push(socket);
    socket.once('error', reject);
    socket.write('GET /health/live HTTP/1.1\r\nHost: sts\r\n\r\n');
    socket.once('data', () => resolve(socket));
  });
}

/** POSTs a form on `socket`; resolves to the status and JSON body. */
function post(socket: Socket, form: Record<string, string>, headers: Record<string, string> = {}) {
  const body = new URLSearchParams(form).toString();
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      {
        createConnection: () => socket,
        method: 'POST',
        path: '/oauth/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function clientAssertion(audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'svc', sub: 'svc', aud: audience, jti: crypto.randomUUID(), iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: 'svc-1' })
    .sign(clientKey);
}

const basic = { authorization: `Basic ${Buffer.from(`gw:${SECRET}`).toString('base64')}` };
const exchangeForm = (token: string) => ({
  grant_type: TOKEN_EXCHANGE_GRANT,
  subject_token: token,
  subject_token_type: TokenTypes.accessToken,
  audience: API,
});

async function workersOf(server: BuiltServer, count: number): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const pids = childPids(server.child.pid!);
    if (pids.length === count) return pids;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${count} workers of ${server.child.pid}, found ${childPids(server.child.pid!).join(', ')}`);
}

/**
 * The worker forked in place of a killed one, stopped (SIGSTOP) as soon as it appears: found from the
 * process table, not the log, which may reach the test after the replacement has started.
 */
async function stoppedReplacement(server: BuiltServer, known: ReadonlySet<number>): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const fresh = childPids(server.child.pid!).find((pid) => !known.has(pid));
    // Only once it has exec'd (its own environment names its cluster id): libuv forks with vfork, so a
    // child stopped before its exec holds the primary suspended too, its lines never written.
    if (fresh !== undefined && execed(fresh)) {
      process.kill(fresh, 'SIGSTOP');
      return fresh;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no replacement worker of ${server.child.pid} appeared`);
}

/** Whether a forked worker runs its own program yet (cluster.fork gives it NODE_UNIQUE_ID). */
function execed(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').includes('NODE_UNIQUE_ID=');
  } catch {
    return false;
  }
}

/** The next worker forked that is not in `known`, as soon as it appears in the process table. */
async function newChild(server: BuiltServer, known: ReadonlySet<number>): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const fresh = childPids(server.child.pid!).find((pid) => !known.has(pid));
    if (fresh !== undefined) return fresh;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no new worker of ${server.child.pid} appeared`);
}

describe('WORKERS without a shared store', () => {
  it('refuses to start, naming WORKERS and REDIS_URL in one line', async () => {
    const failure = await startBuiltServer({ anchors: {}, clients: [], env: { WORKERS: '2' } }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/^server exited early:/);
    expect(failure).toContain(
      'actbridge: configuration error: environment: WORKERS (2) needs state shared by every worker: REDIS_URL is unset (single-use identifiers, revocations, token lineage and DPoP proof identifiers would be kept per process); or set WORKERS=1\n',
    );
  });
});

describeRedis('WORKERS=2 with REDIS_URL', () => {
  it('serves from two processes, one startup line; a token used at one worker is refused at the other', async () => {
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL });
    expect(server.output().match(/listening on /g)).toHaveLength(1);
    expect(server.output()).toContain(`listening on 127.0.0.1:${server.port} (production, 2 workers)`);
    const workers = await workersOf(server, 2);
    const [a, b] = await connectionsTo(server, workers);

    const form = {
      ...exchangeForm(await idp.mint({ sub: 'alice', aud: 'urn:sts' })),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(server.baseUrl),
    };
    expect((await post(a!, form)).status).toBe(200);
    expect(await post(b!, form)).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client_assertion has already been used (jti replay)' },
    });
  });

  it("serves MANAGEMENT_PORT from the primary: every worker's series merged, ready when all listen", async () => {
    const management = await freePort();
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, MANAGEMENT_PORT: String(management) });
    const workers = await workersOf(server, 2);
    const sockets = await connectionsTo(server, workers);
    // One refused exchange at each worker (an unknown client): two requests, counted by two processes.
    for (const socket of sockets) {
      expect((await post(socket, exchangeForm('x'), { authorization: 'Basic bm9ib2R5Om5vcGU=' })).status).toBe(401);
    }
    const base = `http://127.0.0.1:${management}`;
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toMatch(
      /^actbridge_token_requests_total\{grant_type="token_exchange",outcome="refused",error="invalid_client"\} 2$/m,
    );
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    const ready = await fetch(`${base}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: { status: 'ready', workers: { listening: 2, configured: 2 } },
    });
    // Not on the public port: the workers share it, and it serves no operational detail.
    expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(404);
  });

  it('answers /metrics at once while a replacement worker starts: the listening workers series', async () => {
    const management = await freePort();
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, MANAGEMENT_PORT: String(management) });
    const [first, other] = await workersOf(server, 2);
    process.kill(first!, 'SIGKILL');
    // Held before it listens (stopped), so the primary answers with one worker still starting however
    // fast startup is.
    const replacement = await stoppedReplacement(server, new Set([first!, other!]));
    const base = `http://127.0.0.1:${management}`;
    try {
      await server.waitFor(new RegExp(`worker \\d+ \\(pid ${first}\\) exited unexpectedly`));
      const asked = Date.now();
      const scrape = await fetch(`${base}/metrics`);
      const text = await scrape.text();
      expect(Date.now() - asked).toBeLessThan(2000);
      expect(server.output()).not.toMatch(/worker \d+ \(pid \d+\) listening/);
      expect(scrape.status).toBe(200);
      expect(text.match(/^nodejs_version_info\{.*\} 1$/m)).not.toBeNull();
      const ready = await fetch(`${base}/health/ready`);
      expect({ status: ready.status, body: await ready.json() }).toEqual({
        status: 503,
        body: { status: 'not_ready', workers: { listening: 1, configured: 2 } },
      });
    } finally {
      process.kill(replacement, 'SIGCONT');
    }
    await server.waitFor(/worker \d+ \(pid \d+\) listening/);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  }, 40_000);

  it('stops (exit 1) when a worker cannot start, here on a port already taken', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const failure = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, PORT: String(port) }).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(failure).toMatch(/^server exited early:/);
      // Node reports the shared handle's failure as bind (a single process says listen).
      expect(failure).toMatch(/actbridge: failed to start: (bind|listen) EADDRINUSE/);
      expect(failure).toMatch(/worker \d+ exited during startup \(code 1\); stopping/);
      expect(failure).toContain('all workers stopped; exit code 1');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("a replacement worker continues the workers' key rotation: the key in force keeps signing during the lead", async () => {
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL });
    const [first, second] = await workersOf(server, 2);
    // sts-2 marked active: published at once, signing only after SIGNING_KEYS_PUBLISH_LEAD (600 s).
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const next = { ...(await exportJWK(privateKey)), kid: 'sts-2' };
    writeFileSync(join(server.dir, 'keys', 'sts-2.active.json'), JSON.stringify(next));
    server.child.kill('SIGHUP');
    await server.waitFor(/(configuration reloaded \(SIGHUP\): keys \+sts-2[^]*){2}/);
    process.kill(first!, 'SIGKILL');
    await server.waitFor(/worker \d+ \(pid \d+\) listening/);
    const workers = await workersOf(server, 2);
    expect(workers).toContain(second);
    const kids = [];
    for (const socket of await connectionsTo(server, workers)) {
      const answer = await post(socket, exchangeForm(await idp.mint({ sub: 'alice', aud: 'urn:sts' })), basic);
      expect(answer.status).toBe(200);
      const header = (answer.body.access_token as string).split('.')[0]!;
      kids.push((JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid);
    }
    expect(kids).toEqual(['sts-1', 'sts-1']);
    // A worker's lines may reach the output after the primary's.
    await server.waitFor(/"context":"Keys","msg":"continuing the running workers' key rotation"/);
  }, 40_000);

  it('forks no replacement while the files on disk do not load, keeps the workers still serving, and stops clean', async () => {
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, SHUTDOWN_TIMEOUT: '10' });
    const [first, second] = await workersOf(server, 2);
    // A broken clients.yaml on disk: the running workers keep the configuration they loaded.
    writeFileSync(join(server.dir, 'clients.yaml'), 'clients:\n  - client_id: gw\n    bogus: 1\n');
    process.kill(first!, 'SIGKILL');
    // No replacement is forked while the files do not load: it would only exit on them.
    await server.waitFor(
      /a replacement worker cannot start: \S*clients\.yaml: invalid configuration: .*bogus.*; 1 of 2 worker\(s\) keep serving the configuration they loaded, a replacement is tried every 60 s/,
      30_000,
    );
    expect(server.output()).not.toMatch(/exited \(code 1\)/);
    const [socket] = await connectionsTo(server, [second!]);
    const answer = await post(socket!, exchangeForm(await idp.mint({ sub: 'alice', aud: 'urn:sts' })), basic);
    expect(answer.status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).not.toContain('stopping');
  }, 40_000);

  // The crash loop without a configuration fault (a fault of every process: here each replacement is
  // killed as it appears): the worker still serving keeps serving; only with none left does it stop.
  it('keeps the worker still serving through a crash loop of its replacements, and stops (exit 1) once none serves', async () => {
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, SHUTDOWN_TIMEOUT: '10' });
    const [first, second] = await workersOf(server, 2);
    const known = new Set([first!, second!]);
    process.kill(first!, 'SIGKILL');
    // RestartPolicy: 5 deaths within 60 s are replaced (after 0, 100, 200, 400, 800 ms); the 6th is the loop.
    for (let death = 2; death <= 6; death++) {
      const replacement = await newChild(server, known);
      known.add(replacement);
      process.kill(replacement, 'SIGKILL');
    }
    await server.waitFor(
      /6 unexpected exits within 60 s, the workers are crash-looping; 1 of 2 worker\(s\) keep serving, one replacement is tried every 60 s/,
    );
    const [socket] = await connectionsTo(server, [second!]);
    const answer = await post(socket!, exchangeForm(await idp.mint({ sub: 'alice', aud: 'urn:sts' })), basic);
    expect(answer.status).toBe(200);
    process.kill(second!, 'SIGKILL');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.output()).toMatch(
      new RegExp(
        `worker \\d+ \\(pid ${second}\\) exited \\(signal SIGKILL\\): \\d+ unexpected exits within 60 s, the workers are crash-looping and none is serving; stopping`,
      ),
    );
  }, 40_000);

  it('exits 0 on SIGTERM while a replacement worker is still starting (SIGTERM ends it, nothing to drain)', async () => {
    const server = await start({ WORKERS: '2', REDIS_URL: REDIS_TEST_URL, SHUTDOWN_TIMEOUT: '10' });
    const [first, second] = await workersOf(server, 2);
    process.kill(first!, 'SIGKILL');
    // Held (stopped) before it listens, however fast startup is, and let go just before the SIGTERM,
    // which reaches it long before its startup ends.
    const replacement = await stoppedReplacement(server, new Set([first!, second!]));
    try {
      await server.waitFor(new RegExp(`worker \\d+ \\(pid ${first}\\) exited unexpectedly`));
      expect(server.output()).not.toMatch(/worker \d+ \(pid \d+\) listening/);
    } finally {
      process.kill(replacement, 'SIGCONT');
    }
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(new RegExp(`worker \\d+ \\(pid ${replacement}\\) exited \\(signal SIGTERM\\)`));
    expect(server.output()).toMatch(new RegExp(`worker \\d+ \\(pid ${second}\\) exited \\(code 0\\)`));
    expect(server.output()).toContain('all workers stopped; exit code 0');
  }, 40_000);

  it('replaces a killed worker, forwards SIGHUP without stopping, and drains every worker on SIGTERM (exit 0)', async () => {
    const management = await freePort();
    const server = await start({
      WORKERS: '2',
      REDIS_URL: REDIS_TEST_URL,
      SHUTDOWN_TIMEOUT: '10',
      MANAGEMENT_PORT: String(management),
    });
    const [first, second] = await workersOf(server, 2);
    process.kill(first!, 'SIGKILL');
    await server.waitFor(
      new RegExp(`worker \\d+ \\(pid ${first}\\) exited unexpectedly \\(signal SIGKILL\\); replacing it`),
    );
    await server.waitFor(/worker \d+ \(pid \d+\) listening/);
    const workers = await workersOf(server, 2);
    expect(workers).toContain(second);
    expect(workers).not.toContain(first);

    server.child.kill('SIGHUP');
    await server.waitFor(/SIGHUP received: forwarded to 2 worker\(s\)/);

    // An exchange in flight at each worker (the introspection endpoint answers after a delay).
    const inFlight = await connectionsTo(server, workers);
    const answers = Promise.all(inFlight.map((socket) => post(socket, exchangeForm('opaque-token'), basic)));
    await new Promise((r) => setTimeout(r, 500));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    await server.waitFor(/SIGTERM received: draining 2 worker\(s\)/);
    // Not ready from the signal on, said as a single process says it (`"draining":true`).
    const ready = await fetch(`http://127.0.0.1:${management}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 503,
      body: { status: 'not_ready', workers: { listening: 2, configured: 2 }, draining: true },
    });
    for (const answer of await answers) expect(answer).toMatchObject({ status: 200 });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(UPSTREAM_DELAY_MS + 5000);
    expect(server.output()).toContain('SIGTERM received: draining 2 worker(s) (SHUTDOWN_TIMEOUT 10 s)');
    expect(server.output().match(/SIGTERM received: draining 1 in-flight request\(s\)/g)).toHaveLength(2);
    expect(server.output()).toContain('all workers stopped; exit code 0');
  }, 40_000);
});
