import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort } from '../support/free-port.js';

/**
 * The built server, started the way the README's start command starts it (`node dist/main.js`, after
 * `npm run build`, which `npm test` runs first), on the configuration shipped in the repository.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const children: ChildProcess[] = [];
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-startup-'));
  tempDirs.push(dir);
  return dir;
}

interface Started {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(env: Record<string, string>): Started {
  // Only what a fresh shell would have: the repo's defaults must not depend on anything else.
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(started.output())) {
    if (started.child.exitCode !== null) throw new Error(`server exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start on the shipped configuration', () => {
  it('starts with no external service, honours PORT, serves metadata, and the README curl example works', async () => {
    const port = await freePort();
    const server = startServer({ PORT: String(port) });
    await waitFor(server, /listening on 127\.0\.0\.1:\d+/);
    expect(server.output()).toMatch(/DEVELOPMENT SIGNING KEY/);

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
    await waitFor(server, /"event":"token\.issued".*"client_id":"demo-agent"/);

    // Graceful stop: the drain closes the server and Nest's shutdown hooks run, then exit code 0.
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('ignores the development-only demo issuer once real signing keys are configured', async () => {
    const dir = tempDir();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(join(dir, 'key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'prod-1' }));
    const port = await freePort();
    const auditFile = join(dir, 'audit.log');
    const server = startServer({ PORT: String(port), SIGNING_KEYS: join(dir, 'key.json'), AUDIT_LOG: auditFile });
    await waitFor(server, /listening on/);
    expect(server.output()).toMatch(/ignoring .*demo-idp\.yaml: development_only, and SIGNING_KEYS is configured/);

    const { stdout } = await run(process.execPath, ['dist/cli/demo-tokens.js'], { cwd: ROOT });
    const userToken = /USER_TOKEN=(\S+)/.exec(stdout)![1]!;
    const res = await fetch(`http://localhost:${port}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('demo-agent:demo-agent-secret-change-me').toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: userToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token issuer is not trusted',
    });

    // The refusal is in the audit file once the server has stopped.
    server.child.kill('SIGTERM');
    await server.exited;
    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'token.refused',
        client_id: 'demo-agent',
        client_authenticated: true,
        error: 'invalid_request',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
    ]);
    expect(lines[0]!.reason).toBe('subject_token issuer "https://demo-idp.actbridge.invalid" is not trusted');
  });

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
        return { env: { CLIENTS_FILE: file }, expected: [file, 'clients[0].scope: property scope should not exist'] };
      },
    ],
    [
      'a trust anchor with a symmetric algorithm',
      () => {
        const dir = tempDir();
        writeFileSync(join(dir, 'bad.yaml'), 'issuer: https://idp.example\naudiences: [x]\nalgorithms: [HS256]\n');
        return {
          env: { TRUST_ANCHORS_DIR: dir },
          expected: [join(dir, 'bad.yaml'), 'algorithms: each value must be an asymmetric JWS algorithm'],
        };
      },
    ],
    [
      'a bad environment value',
      () => ({ env: { TOKEN_TTL: '15m' }, expected: ['TOKEN_TTL: must be an integer number'] }),
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
  ])('refuses to start on %s, naming the file and field', async (_name, make) => {
    const { env, expected } = make();
    const server = startServer({ PORT: String(await freePort()), ...env });
    expect((await server.exited).code).toBe(1);
    for (const text of expected) expect(server.output()).toContain(text);
    expect(server.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
