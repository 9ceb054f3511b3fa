import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { freePort } from '../support/free-port.js';
import { expectReady, readiness } from '../support/health.js';
import {
  exchange,
  ROOT,
  spawnServer,
  waitForOutput,
  writeProductionConfig,
  type ServerProcess,
} from '../support/server-process.js';

/**
 * The built server as operators start it: `npm start` (the embedded development defaults, the README's
 * first command) and `node dist/main.js` (production, `actbridge serve`). `npm test` builds first.
 */

const run = promisify(execFile);
const servers: ServerProcess[] = [];
const tempDirs: string[] = [];
const httpServers: Server[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-startup-'));
  tempDirs.push(dir);
  return dir;
}

function start(args: string[], env: Record<string, string>, command?: string): ServerProcess {
  const server = spawnServer(args, env, command ? { command } : {});
  servers.push(server);
  return server;
}

/** Exits 1 with a message (a hang would meet the test's timeout; how fast is not a unit test's business). */
async function refused(server: ServerProcess): Promise<string> {
  expect((await server.exited).code).toBe(1);
  expect(server.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  return server.output();
}

afterEach(async () => {
  for (const server of servers.splice(0)) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  for (const server of httpServers.splice(0)) server.close();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SIGHUP while the server loads its code', () => {
  // Node loads a module graph whole before running its first module: the hold (sighup-hold-at-start)
  // must run before the rest of the code is loaded, not merely before it runs (docs/operations.md).
  it('is held, not the default action that ends the process; the server starts and then reloads', async () => {
    const port = await freePort();
    const hook = join(ROOT, 'test/support/sighup-while-loading.mjs');
    const server = start(['--import', hook, 'dist/main.js', 'start-dev'], { PORT: String(port) }, process.execPath);
    await waitForOutput(server, /listening on 127\.0\.0\.1:\d+ \(development\)/);
    await waitForOutput(server, /SIGHUP received: reloading trust anchors, clients and signing keys/);
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
  });
});

describe('npm start: the development defaults, asked for explicitly', () => {
  it('starts with no external service, says so in a banner, and the README curl example works', async () => {
    const stamp = statSync(join(ROOT, 'dist/.build-stamp')).mtimeMs;
    const port = await freePort();
    const npm = start(['start'], { PORT: String(port), HOME: process.env.HOME ?? tmpdir() }, 'npm');
    await waitForOutput(npm, /listening on 127\.0\.0\.1:\d+ \(development\)/);
    expect(npm.output()).toMatch(/actbridge DEVELOPMENT MODE \(start-dev\)/);
    expect(npm.output()).toMatch(/1 of 1 trust anchor\(s\) usable/);
    // The build was current (npm test built it): npm start did not rebuild.
    expect(statSync(join(ROOT, 'dist/.build-stamp')).mtimeMs).toBe(stamp);

    const base = `http://localhost:${port}`;
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({ issuer: base, token_endpoint: `${base}/oauth/token` });

    // The README's example, verbatim in substance: demo tokens, then curl.
    const { stdout } = await run(process.execPath, ['dist/cli/demo-tokens.js'], { cwd: ROOT });
    const tokens = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    const { stdout: body } = await run('curl', [
      '-s',
      '-u',
      'demo-agent:demo-agent-secret-change-me',
      `${base}/oauth/token`,
      '-d',
      'grant_type=urn:ietf:params:oauth:grant-type:token-exchange',
      '-d',
      `subject_token=${tokens.USER_TOKEN}`,
      '-d',
      'subject_token_type=urn:ietf:params:oauth:token-type:access_token',
      '-d',
      `actor_token=${tokens.AGENT_TOKEN}`,
      '-d',
      'actor_token_type=urn:ietf:params:oauth:token-type:jwt',
      '-d',
      'audience=demo-tool',
      '-d',
      'scope=read',
    ]);
    const response = JSON.parse(body) as Record<string, unknown>;
    expect(response).toMatchObject({ token_type: 'Bearer', scope: 'read', expires_in: 600 });
    await waitForOutput(npm, /"event":"token\.issued".*"client_id":"demo-agent"/);

    // SIGTERM to npm (what a process manager sends) reaches the server: nothing is left serving.
    // The drain closes the server, then the process exits 0 (and npm with it).
    npm.child.kill('SIGTERM');
    expect(await npm.exited).toEqual({ code: 0, signal: null });
    const deadline = Date.now() + 10_000;
    let serving = true;
    while (serving && Date.now() < deadline) {
      serving = await fetch(`${base}/health/live`).then(
        () => true,
        () => false,
      );
      if (serving) await new Promise((r) => setTimeout(r, 100));
    }
    expect(serving).toBe(false);
  });
});

describe('node dist/main.js: production refuses to start insecure', () => {
  it('on the shipped development configuration, naming each cause in one line', async () => {
    const output = await refused(start([], { PORT: String(await freePort()) }));
    expect(output.trim().split('\n')).toEqual([
      'actbridge: configuration error: refusing to start in production:',
      '  environment: SIGNING_KEYS: required in production (a JWK/JWKS/PEM file or a directory of them); `npm start` runs the development defaults',
      `  ${join(ROOT, 'trust-anchors/demo-idp.yaml')}: development_only: a development anchor (its private key may be public) cannot be trusted in production; remove the file`,
      `  ${join(ROOT, 'config/clients.yaml')}: clients[0].client_secret: plaintext secret for "demo-agent"; use client_secret_hash (npm run hash-secret)`,
    ]);
  });

  it('with SIGNING_KEY (one letter short) instead of SIGNING_KEYS', async () => {
    const dir = tempDir();
    const { env } = await writeProductionConfig(dir, await freePort());
    const { SIGNING_KEYS, ...rest } = env;
    const output = await refused(start([], { ...rest, SIGNING_KEY: SIGNING_KEYS! }));
    expect(output).toContain('environment: SIGNING_KEY is not an actbridge setting; did you mean SIGNING_KEYS?');
    expect(output).toContain('environment: SIGNING_KEYS: required in production');
  });

  it('with a plaintext client secret', async () => {
    const dir = tempDir();
    const { env } = await writeProductionConfig(dir, await freePort());
    writeFileSync(
      env.CLIENTS_FILE!,
      stringify({
        clients: [
          {
            client_id: 'gateway',
            token_endpoint_auth_method: 'client_secret_basic',
            client_secret: 'gateway-secret-of-some-length',
            audiences: ['https://api.example.com'],
          },
        ],
      }),
    );
    expect(await refused(start([], env))).toBe(
      `actbridge: configuration error: ${env.CLIENTS_FILE}: clients[0].client_secret: plaintext secret for "gateway"; use client_secret_hash (npm run hash-secret)\n`,
    );
  });

  it('with a key file that cannot be read: one line, file and cause', async () => {
    const dir = tempDir();
    const { env } = await writeProductionConfig(dir, await freePort());
    const keys = join(dir, 'keys');
    mkdirSync(join(keys, 'active.json'), { recursive: true });
    expect(await refused(start([], { ...env, SIGNING_KEYS: keys }))).toBe(
      `actbridge: configuration error: ${join(keys, 'active.json')}: cannot be read (EISDIR) (SIGNING_KEYS)\n`,
    );
  });

  it('binding a non-loopback address without ISSUER', async () => {
    const dir = tempDir();
    const { env } = await writeProductionConfig(dir, await freePort());
    const { ISSUER: _issuer, ...rest } = env;
    expect(await refused(start([], { ...rest, HOST: '0.0.0.0' }))).toBe(
      'actbridge: configuration error: environment: ISSUER: required when HOST (0.0.0.0) is not a loopback address; tokens would name http://localhost as their issuer\n',
    );
  });
});

describe('node dist/main.js: production serves a real configuration', () => {
  it('counts usable anchors at startup, is ready, and exchanges', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = await writeProductionConfig(dir, port);
    const server = start(['serve'], config.env);
    await waitForOutput(
      server,
      /listening on 127\.0\.0\.1:\d+ \(production\).*1 of 1 trust anchor\(s\) usable, 1 client\(s\)/,
    );
    expect(server.output()).not.toMatch(/DEVELOPMENT/);

    await expectReady(`http://127.0.0.1:${port}`, 1);
    const { status, body } = await exchange(`http://127.0.0.1:${port}`, config);
    expect({ status, body }).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'read' } });
  });

  it('is not ready until an anchor has usable keys, and names the JWKS URL and cause in its log', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = await writeProductionConfig(dir, port);
    // The anchor's keys come from a JWKS endpoint that fails at first.
    let jwksUp = false;
    const jwks = createServer((request, response) => {
      response.statusCode = jwksUp ? 200 : 503;
      response.setHeader('content-type', 'application/json');
      response.end(jwksUp ? JSON.stringify(config.idp.publicJwks) : '{}');
    });
    httpServers.push(jwks);
    await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
    writeFileSync(
      join(config.env.TRUST_ANCHORS_DIR!, 'partner.yaml'),
      stringify({ issuer: config.idp.issuer, audiences: [config.idpAudience], jwks_uri: jwksUrl }),
    );
    const server = start([], { ...config.env, JWKS_COOLDOWN: '0' });
    await waitForOutput(server, /listening on .*0 of 1 trust anchor\(s\) usable/);
    await waitForOutput(server, new RegExp(`JWKS fetch failed: HTTP 503 from ${jwksUrl.replace(/[./]/g, '\\$&')}`));

    const base = `http://127.0.0.1:${port}`;
    expect(await readiness(base)).toMatchObject({
      status: 503,
      body: { status: 'not_ready', trust_anchors: { usable: 0, configured: 1 } },
    });

    // Readiness itself retries the fetch: a not-ready instance gets no exchanges that would.
    jwksUp = true;
    const deadline = Date.now() + 10_000;
    let state = await readiness(base);
    while (state.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = await readiness(base);
    }
    expect(state).toMatchObject({ status: 200, body: { trust_anchors: { usable: 1, configured: 1 } } });
  });

  it('names the discovery URL and the cause when discovery fails', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = await writeProductionConfig(dir, port);
    const closed = await freePort();
    writeFileSync(
      join(config.env.TRUST_ANCHORS_DIR!, 'partner.yaml'),
      stringify({ issuer: `http://127.0.0.1:${closed}/tenant`, audiences: [config.idpAudience] }),
    );
    const server = start([], config.env);
    await waitForOutput(
      server,
      new RegExp(
        `JWKS fetch failed: discovery at http://127\\.0\\.0\\.1:${closed}/tenant/\\.well-known/openid-configuration failed: .*ECONNREFUSED`,
      ),
    );
  });
});

describe('configuration errors name the file (or variable) and field, without a stack trace', () => {
  it.each([
    [
      'a client file with a typo',
      () => {
        const dir = tempDir();
        const file = join(dir, 'clients.yaml');
        writeFileSync(
          file,
          'clients:\n  - client_id: x\n    token_endpoint_auth_method: client_secret_basic\n    client_secret: xxxxxxxxxxxxxxxxxxxx\n    audiences: [a]\n    scope: [read]\n',
        );
        return {
          env: { CLIENTS_FILE: file },
          expected: [`${file}: clients[0].scope: property scope should not exist`],
        };
      },
    ],
    [
      'a trust anchor with a symmetric algorithm',
      () => {
        const dir = tempDir();
        writeFileSync(join(dir, 'bad.yaml'), 'issuer: https://idp.example\naudiences: [x]\nalgorithms: [HS256]\n');
        return {
          env: { TRUST_ANCHORS_DIR: dir },
          expected: [`${join(dir, 'bad.yaml')}: algorithms: each value must be an asymmetric JWS algorithm`],
        };
      },
    ],
    [
      'a SAML trust anchor renaming one attribute Name twice',
      () => {
        const dir = tempDir();
        const mail = 'urn:oid:0.9.2342.19200300.100.1.3';
        writeFileSync(
          join(dir, 'corp.yaml'),
          stringify({
            kind: 'saml',
            issuer: 'https://idp.example.com/saml/metadata',
            saml: {
              metadata_file: join(ROOT, 'trust-anchors/idp.example.com.metadata.xml'),
              attributes: { email: mail, mail },
            },
          }),
        );
        return {
          env: { TRUST_ANCHORS_DIR: dir },
          expected: [
            `${join(dir, 'corp.yaml')}: saml.attributes.mail: maps ${mail}, which saml.attributes.email already maps`,
          ],
        };
      },
    ],
    [
      'a bad environment value',
      () => ({ env: { TOKEN_TTL: '15m' }, expected: ['environment: TOKEN_TTL: must be an integer number'] }),
    ],
    [
      'a trust anchor that is not YAML, saying where',
      () => {
        const dir = tempDir();
        writeFileSync(join(dir, 'bad.yaml'), 'issuer: https://idp.example\naudiences: [x\n');
        return {
          env: { TRUST_ANCHORS_DIR: dir },
          expected: [`${join(dir, 'bad.yaml')}: not valid YAML: `, 'at line 3'],
        };
      },
    ],
    [
      'a headers timeout longer than the request timeout',
      () => ({
        env: { HEADERS_TIMEOUT_MS: '20000' },
        expected: ['environment: HEADERS_TIMEOUT_MS (20000) exceeds REQUEST_TIMEOUT_MS (10000)'],
      }),
    ],
    [
      'an audit log that cannot be written',
      () => ({
        env: { AUDIT_LOG: '/nonexistent-dir/audit.log' },
        expected: ['AUDIT_LOG: cannot open /nonexistent-dir/audit.log for appending (ENOENT)'],
      }),
    ],
  ])('start-dev refuses %s, in one line', async (_name, make) => {
    const { env, expected } = make();
    const output = await refused(start(['start-dev'], { PORT: String(await freePort()), ...env }));
    const line = output.split('\n').find((l) => l.startsWith('actbridge: configuration error: '));
    for (const text of expected) expect(line).toContain(text);
  });

  it('a port already taken: the address, the cause and the settings that chose it', async () => {
    const port = await freePort();
    const taken = createServer();
    httpServers.push(taken);
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    const output = await refused(start(['start-dev'], { PORT: String(port) }));
    expect(output).toContain(
      `actbridge: failed to start: listen EADDRINUSE: address already in use 127.0.0.1:${port} (HOST, PORT)\n`,
    );
  });

  it('an unknown command prints the usage', async () => {
    const server = start(['srve'], {});
    expect((await server.exited).code).toBe(2);
    expect(server.output()).toMatch(/^usage: actbridge \[serve \| start-dev \| validate \[start-dev\]\]/);
  });
});
