import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';
import { exchange, jsonLines, ROOT, writeProductionConfig, type ProductionConfig } from '../support/server-process.js';

/**
 * The built server's audit sink and logs, as deployed: audit lines on their own (stdout or a file, in
 * JSON or key=value), JSON application logs with an access line per request on stderr, no token or
 * secret in either; a file reopened on SIGHUP; a line that cannot be written fails the request (503).
 */

interface Running {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly config: ProductionConfig;
  readonly dir: string;
  stdout(): string;
  stderr(): string;
}

const running: Running[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) {
    if (server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    rmSync(server.dir, { recursive: true, force: true });
  }
});

async function start(env: Record<string, string>): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-audit-e2e-'));
  const port = await freePort();
  const config = await writeProductionConfig(dir, port);
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', MANAGEMENT_PORT: '0', ...config.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk) => (stderr += chunk.toString()));
  const server = {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    dir,
    stdout: () => stdout,
    stderr: () => stderr,
  };
  running.push(server);
  await waitFor(
    () => /listening on 127\.0\.0\.1/.test(stderr),
    () => `${stdout}${stderr}`,
    child,
  );
  return server;
}

async function waitFor(done: () => boolean, output: () => string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done()) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`timed out:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('AUDIT_LOG=stdout: audit lines alone on stdout, JSON application logs on stderr', () => {
  it('writes one access line per request, and never the token or the client secret', async () => {
    const server = await start({ AUDIT_LOG: 'stdout' });
    const subject = await server.config.idp.mint({ sub: 'alice', aud: server.config.idpAudience });
    const response = await fetch(`${server.baseUrl}/oauth/token?access_token=${subject}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${server.config.client.id}:${server.config.client.secret}`).toString('base64')}`,
        'user-agent': 'audit-e2e/1.0',
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    await waitFor(() => server.stderr().includes('"msg":"request"'), server.stderr, server.child);

    const audit = jsonLines(server.stdout());
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ event: 'token.issued', client_ip: '127.0.0.1', user_agent: 'audit-e2e/1.0' });
    const logs = jsonLines(server.stderr());
    for (const line of logs) {
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['info', 'warn', 'error', 'debug']).toContain(line.level);
    }
    const access = logs.filter((line) => line.msg === 'request');
    expect(access).toEqual([
      expect.objectContaining({
        level: 'info',
        method: 'POST',
        path: '/oauth/token',
        status: 200,
        latency_ms: expect.any(Number),
        request_id: audit[0]!.request_id,
      }),
    ]);
    const everything = server.stdout() + server.stderr();
    for (const secret of [
      server.config.client.secret,
      Buffer.from(`${server.config.client.id}:${server.config.client.secret}`).toString('base64'),
      subject.split('.')[1]!,
      (body.access_token as string).split('.')[1]!,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('AUDIT_LOG=<file>, AUDIT_FORMAT=kv', () => {
  it('writes key=value lines, reopens the file on SIGHUP, and fails closed while it cannot', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'actbridge-audit-file-')), 'audit.log');
    const server = await start({ AUDIT_LOG: file, AUDIT_FORMAT: 'kv' });
    expect((await exchange(server.baseUrl, server.config)).status).toBe(200);
    expect(readFileSync(file, 'utf8')).toMatch(
      /^\S+Z event=token\.issued outcome=issued principal=alice principal_iss=https:\/\/idp\.test\.example acting_as=gateway acting_as_iss=http:\/\/127\.0\.0\.1:\d+ client=gateway client_authenticated=true grant=token-exchange subject_token_type=access_token issued_token_type=access_token mode=delegation anchor=partner aud=https:\/\/api\.example\.com scope=read ttl=\d+s exp=\d+ jti=\S+ parent_jti=root:\S+ client_ip=127\.0\.0\.1 user_agent=\S+ latency=[\d.]+ms trace_id=[0-9a-f]{32} request_id=\S+\n$/,
    );

    // logrotate: rename, then SIGHUP; the process keeps serving and writes to a new file.
    renameSync(file, `${file}.1`);
    server.child.kill('SIGHUP');
    await waitFor(() => server.stderr().includes('reopened'), server.stderr, server.child);
    expect((await exchange(server.baseUrl, server.config)).status).toBe(200);
    expect(readFileSync(`${file}.1`, 'utf8').trim().split('\n')).toHaveLength(1);
    // The reopened file: the SIGHUP's own reload line, then the exchange's.
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual([
      expect.stringMatching(/^\S+Z event=config\.reloaded outcome=reloaded trigger=SIGHUP generation=2 changes="\{/),
      expect.stringMatching(/^\S+Z event=token\.issued /),
    ]);

    // The path cannot be opened at the next rotation: no token is issued unaudited.
    renameSync(file, `${file}.2`);
    mkdirSync(file);
    server.child.kill('SIGHUP');
    await waitFor(() => server.stderr().includes('cannot be opened (EISDIR)'), server.stderr, server.child);
    const refused = await exchange(server.baseUrl, server.config);
    expect(refused).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'audit log unavailable' },
    });
    const notReady = await fetch(`${server.baseUrl}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: 'not_ready', audit_log: { status: 'down' } });
    rmdirSync(file);
    // Readiness opens the path again itself: the instance is ready before any request is routed to it.
    const ready = await fetch(`${server.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).not.toHaveProperty('audit_log');
    expect((await exchange(server.baseUrl, server.config)).status).toBe(200);
    expect(readFileSync(file, 'utf8')).toMatch(/event=token\.issued/);
    expect(server.child.exitCode).toBeNull();
    rmSync(join(file, '..'), { recursive: true, force: true });
  });
});

describe('a full disk', () => {
  it('gives 503, not an unaudited token, at the token, introspection, revocation and vault endpoints, each logged and counted', async () => {
    const management = await freePort();
    const server = await start({ AUDIT_LOG: '/dev/full', MANAGEMENT_PORT: String(management) });
    const response = await exchange(server.baseUrl, server.config);
    expect(response).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'audit log unavailable' },
    });
    for (const endpoint of ['introspect', 'revoke']) {
      const answer = await fetch(`${server.baseUrl}/oauth/${endpoint}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${server.config.client.id}:${server.config.client.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: 'some-token' }),
      });
      expect(answer.status).toBe(503);
    }
    const logged = /audit line not written, request refused: audit log \/dev\/full: write failed \(ENOSPC\)/;
    await waitFor(() => logged.test(server.stderr()), server.stderr, server.child);
    // Not ready while lines cannot be written, on both ports: every audited request would be refused.
    for (const base of [server.baseUrl, `http://127.0.0.1:${management}`]) {
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', audit_log: { status: 'down' } });
    }

    // A vault endpoint's line too: 503, logged and counted like every other request's.
    const failures = async () => {
      const scrape = await (await fetch(`http://127.0.0.1:${management}/metrics`)).text();
      return Number(/^actbridge_audit_write_failures_total (\d+)$/m.exec(scrape)?.[1]);
    };
    const counted = await failures();
    const callback = await fetch(`${server.baseUrl}/vault/callback?state=unknown`, { redirect: 'manual' });
    expect(callback.status).toBe(503);
    expect(await failures()).toBe(counted + 1);
  });
});
