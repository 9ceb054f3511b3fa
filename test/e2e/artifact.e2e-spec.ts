import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';
import { exchange, ROOT, spawnServer, waitForOutput, writeProductionConfig } from '../support/server-process.js';

/**
 * The runtime artifact operators ship (and the Dockerfile copies): built by scripts/build-artifact.sh
 * into a temporary directory with production dependencies only, then started with real keys and
 * configuration, outside the repository.
 */

const run = promisify(execFile);
let work: string;
let artifact: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'actbridge-artifact-'));
  artifact = join(work, 'app');
  await run('sh', ['scripts/build-artifact.sh', artifact], { cwd: ROOT, timeout: 170_000 });
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the runtime artifact (production dependencies only)', () => {
  it('holds the built app and no development dependency', () => {
    expect(existsSync(join(artifact, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(artifact, 'src'))).toBe(false);
    // The token vault's SQL migrations, read at startup beside the compiled code.
    expect(existsSync(join(artifact, 'dist/vault/migrations/0001_token_vault.sql'))).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(pkg.dependencies))
      expect(existsSync(join(artifact, 'node_modules', name))).toBe(true);
    // Dev-only packages that nothing at runtime depends on.
    for (const name of [
      'jest',
      'typescript',
      '@swc/core',
      'oidc-provider',
      'samlify',
      '@sinonjs/fake-timers',
      '@modelcontextprotocol/sdk',
    ]) {
      expect(existsSync(join(artifact, 'node_modules', name))).toBe(false);
    }
  });

  it('starts in production with real keys and configuration, exchanges, passes its healthcheck and stops', async () => {
    const port = await freePort();
    const config = await writeProductionConfig(work, port);
    const server = spawnServer(['dist/main.js'], config.env, { command: process.execPath, cwd: artifact });
    try {
      await waitForOutput(server, /listening on 127\.0\.0\.1:\d+ \(production\).*1 of 1 trust anchor\(s\) usable/);
      const { status, body } = await exchange(`http://127.0.0.1:${port}`, config);
      expect({ status, body }).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'read' } });
      // The Dockerfile's HEALTHCHECK command, run as the container would.
      await expect(
        run(process.execPath, ['dist/cli/healthcheck.js'], { cwd: artifact, env: { PORT: String(port) } }),
      ).resolves.toBeDefined();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    // Nothing answers any more, so the same healthcheck now fails.
    await expect(
      run(process.execPath, ['dist/cli/healthcheck.js'], { cwd: artifact, env: { PORT: String(port) } }),
    ).rejects.toMatchObject({ code: 1 });
  });

  it('generates signing keys with the keys command', async () => {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli/keys.js', 'generate', '--alg', 'EdDSA'], {
      cwd: artifact,
    });
    const jwk = JSON.parse(stdout) as Record<string, unknown>;
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', d: expect.any(String) });
    expect(stderr).toContain(`public key (kid ${String(jwk.kid)})`);
    expect(stderr).not.toContain(String(jwk.d));
  });
});
