import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { generateVaultKey } from '../../src/vault/key-ring.js';
import { freePort } from '../support/free-port.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres.js';
import { spawnServer, waitForOutput, writeProductionConfig, type ServerProcess } from '../support/server-process.js';
import { githubConnection } from '../support/connections.js';

/**
 * The built server (`node dist/main.js`, production) with a token vault connection: what it refuses,
 * and a real start on PostgreSQL (the SQL migrations shipped in dist/, applied at startup).
 */

const describeVault = await describeWithPostgres();
const servers: ServerProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A production configuration plus one connection for its client. */
async function configWithConnection(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-vault-startup-'));
  dirs.push(dir);
  const { env } = await writeProductionConfig(dir, await freePort());
  mkdirSync(join(dir, 'connections'));
  writeFileSync(join(dir, 'connections', 'github.yaml'), stringify(githubConnection('gateway', 'gateway')));
  return { ...env, CONNECTIONS_DIR: join(dir, 'connections'), GITHUB_CLIENT_SECRET: 'secret' };
}

function start(env: Record<string, string>): ServerProcess {
  const server = spawnServer([], env);
  servers.push(server);
  return server;
}

describe('node dist/main.js with a token vault connection', () => {
  it('refuses to start without DATABASE_URL and VAULT_KEYS, one line each', async () => {
    const server = start(await configWithConnection());
    expect((await server.exited).code).toBe(1);
    expect(server.output().trim().split('\n')).toEqual([
      'actbridge: configuration error: refusing to start in production:',
      '  environment: DATABASE_URL: required in production when CONNECTIONS_DIR holds connections (the token vault keeps them in PostgreSQL); `npm start` keeps them in memory',
      '  environment: VAULT_KEYS: required in production when CONNECTIONS_DIR holds connections (the key-encryption keys of the token vault)',
    ]);
  });

  it('refuses to start, in one line, when the database cannot be reached', async () => {
    const closed = await freePort();
    const server = start({
      ...(await configWithConnection()),
      DATABASE_URL: `postgres://actbridge@127.0.0.1:${closed}/vault`,
      VAULT_KEYS: JSON.stringify(generateVaultKey('k1')),
    });
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toMatch(
      new RegExp(
        `^actbridge: failed to start: token vault: cannot prepare the database \\(DATABASE_URL\\): .*ECONNREFUSED.*${closed}`,
        'm',
      ),
    );
    expect(server.output()).not.toMatch(/\n\s+at /);
  });
});

describeVault('node dist/main.js with a token vault on PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('migrates the database at startup and says where accounts are kept, naming the key, never the key', async () => {
    const kek = generateVaultKey('kek-2030');
    const server = start({ ...(await configWithConnection()), DATABASE_URL: db.url, VAULT_KEYS: JSON.stringify(kek) });
    await waitForOutput(server, /listening on 127\.0\.0\.1:\d+ \(production\)/);
    // A JSON log entry (LOG_FORMAT defaults to json off a terminal): its quotes are escaped.
    expect(server.output()).toContain(
      JSON.stringify('token vault: 1 connection(s); accounts in PostgreSQL; key-encryption key "kek-2030"'),
    );
    expect(server.output()).not.toContain(kek.k);
    const { rows } = await db.pool.query('SELECT version FROM vault_schema_migrations');
    expect(rows).toEqual([{ version: 1 }]);
  });
});
