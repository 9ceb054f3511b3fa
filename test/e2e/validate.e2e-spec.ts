import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { freePort } from '../support/free-port.js';
import { spawnServer, writeProductionConfig, type ProductionConfig } from '../support/server-process.js';

/** Runs `node dist/main.js <args>` to its end; returns its exit code, stdout+stderr and duration. */
async function runMain(args: string[], env: Record<string, string>) {
  const started = Date.now();
  const process = spawnServer(args, env);
  const { code } = await process.exited;
  return { code, output: process.output(), ms: Date.now() - started };
}

/**
 * `actbridge validate` checks a configuration as `serve` would load it, for operators' CI pipelines:
 * exit 0 with a summary, or exit 1 with the very message `serve` prints; it opens no listener and
 * contacts no store.
 */
describe('actbridge validate', () => {
  let dir: string;
  let config: ProductionConfig;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'actbridge-validate-'));
    config = await writeProductionConfig(dir, await freePort());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a good production configuration: exit 0 and a summary, without listening or connecting', async () => {
    // The port is taken and Redis is unreachable: serve would fail on either, validate does not try.
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(Number(config.env.PORT), '127.0.0.1', resolve));
    try {
      const result = await runMain(['validate'], { ...config.env, REDIS_URL: 'redis://127.0.0.1:1' });
      expect(result.output).toBe(
        `actbridge: configuration valid (serve): issuer ${config.env.ISSUER}; 1 trust anchor(s), 1 client(s), 0 connection(s); signing kid prod-1, publishing 1 key(s)\n`,
      );
      expect(result.code).toBe(0);
    } finally {
      holder.close();
    }
  });

  it.each<[string, (env: Record<string, string>) => Record<string, string>]>([
    [
      'a broken anchor file',
      (env) => {
        writeFileSync(join(env.TRUST_ANCHORS_DIR!, 'broken.yaml'), stringify({ issuer: 'not a url', audiences: [] }));
        return env;
      },
    ],
    ['a misspelt setting (production refusal)', (env) => ({ ...env, TOKEN_TLL: '300' })],
    ['an unreadable key directory', (env) => ({ ...env, SIGNING_KEYS: join(dir, 'no-such-keys') })],
    ['a REDIS_URL its client cannot parse', (env) => ({ ...env, REDIS_URL: 'redis://:pass%word@127.0.0.1:1' })],
    ['AUDIT_LOG naming two streams', (env) => ({ ...env, AUDIT_LOG: 'stdout,stderr' })],
    ['AUDIT_LOG naming a directory', (env) => ({ ...env, AUDIT_LOG: dir })],
  ])('%s: exit 1 with the message serve prints', async (_name, change) => {
    const env = change({ ...config.env });
    try {
      const validated = await runMain(['validate'], env);
      const served = await runMain(['serve'], env);
      expect(validated.code).toBe(1);
      expect(served.code).toBe(1);
      expect(validated.output).toMatch(/^actbridge: configuration error: /);
      expect(validated.output).toBe(served.output);
    } finally {
      rmSync(join(config.env.TRUST_ANCHORS_DIR!, 'broken.yaml'), { force: true });
    }
  });

  it('development-only settings: refused as serve would, accepted by `validate start-dev`', async () => {
    const devClients = join(dir, 'dev-clients.yaml');
    writeFileSync(
      devClients,
      stringify({
        clients: [
          {
            client_id: 'dev',
            token_endpoint_auth_method: 'client_secret_basic',
            client_secret: 'plaintext-secret-0123456789',
            audiences: ['https://api.example.com'],
          },
        ],
      }),
    );
    const env = { ...config.env, CLIENTS_FILE: devClients };
    const production = await runMain(['validate'], env);
    expect(production.code).toBe(1);
    expect(production.output).toBe(
      `actbridge: configuration error: ${devClients}: clients[0].client_secret: plaintext secret for "dev"; use client_secret_hash (npm run hash-secret)\n`,
    );
    const development = await runMain(['validate', 'start-dev'], env);
    expect(development.output).toMatch(/^actbridge: configuration valid \(start-dev\): /);
    expect(development.code).toBe(0);
  });

  it('AUDIT_LOG with a stream and a file, as serve takes it: valid', async () => {
    const result = await runMain(['validate'], { ...config.env, AUDIT_LOG: `stdout,${join(dir, 'audit.log')}` });
    expect(result.output).toBe(
      `actbridge: configuration valid (serve): issuer ${config.env.ISSUER}; 1 trust anchor(s), 1 client(s), 0 connection(s); signing kid prod-1, publishing 1 key(s)\n`,
    );
    expect(result.code).toBe(0);
  });

  it('a usage error exits 2', async () => {
    const result = await runMain(['validate', 'everything'], config.env);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/^usage: actbridge \[serve \| start-dev \| validate \[start-dev\]\]/);
  });

  it('npm run validate runs the same command', async () => {
    const result = spawnServer(['run', '-s', 'validate'], config.env, { command: 'npm' });
    expect(await result.exited).toEqual({ code: 0, signal: null });
    expect(result.output()).toContain('actbridge: configuration valid (serve): ');
    // npm builds dist first when a source is newer.
  }, 120_000);
});
