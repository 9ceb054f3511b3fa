import { randomBytes } from 'node:crypto';
import { describe, it } from '@jest/globals';
import pg from 'pg';

/** The PostgreSQL the tests use (README "Development"): a role that may create databases. */
export const POSTGRES_TEST_URL = process.env.POSTGRES_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function postgresReachable(url = POSTGRES_TEST_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `describe` for suites that need a real PostgreSQL: where none is reachable they are skipped with a
 * loud message, except under CI=true, where they run (and fail) so that a missing database cannot go
 * unnoticed.
 */
export async function describeWithPostgres(): Promise<typeof describe> {
  if (await postgresReachable()) return describe;
  if (process.env.CI === 'true') {
    describe('PostgreSQL', () => {
      it(`is reachable at ${POSTGRES_TEST_URL} (required under CI=true)`, () => {
        throw new Error(`no PostgreSQL reachable at ${POSTGRES_TEST_URL}; the token vault tests cannot run`);
      });
    });
    return describe;
  }
  process.stderr.write(
    `\n!!!!!!!!!!\n!!! SKIPPING PostgreSQL tests: none reachable at ${POSTGRES_TEST_URL} (set POSTGRES_TEST_URL, or run under CI=true to fail instead)\n!!!!!!!!!!\n\n`,
  );
  return describe.skip as typeof describe;
}

export interface TestDatabase {
  /** DATABASE_URL of the new database. */
  readonly url: string;
  /** A pool on it, for reading tables directly. */
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

/** A database of its own for one test file (other engineers' runs share the server). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `actbridge_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await admin.connect();
  try {
    // 55006: the template database is busy (another run creating one at the same moment); try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name}`);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt === 5) throw error;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_TEST_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.href, max: 4 });
  pool.on('error', () => undefined);
  return {
    url: url.href,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
