import { readFileSync, readdirSync } from 'node:fs';
import type { Pool } from 'pg';

/** The SQL files beside this module (copied into dist/ by the build). */
const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** `NNNN_name.sql`, in version order. */
export function readMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({
      version: Number(match[1]),
      name: match[2]!,
      sql: readFileSync(new URL(match[0], dir), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
}

export interface MigrationResult {
  /** Versions applied by this call. */
  readonly applied: readonly number[];
  /** The schema's version afterwards. */
  readonly version: number;
  /** The newest version this build knows (lower than `version` when a newer actbridge migrated). */
  readonly known: number;
}

/** Session-level lock held while migrating: two instances starting at once migrate one after the other. */
const LOCK = "hashtextextended('actbridge/vault/migrations', 0)";

/**
 * Applies the migrations not yet recorded in `vault_schema_migrations`, each in its own transaction,
 * under a PostgreSQL advisory lock: a second instance starting at the same time waits, then finds
 * them applied. A schema newer than this build is left as it is (migrations only add).
 */
export async function migrate(
  pool: Pool,
  migrations: readonly Migration[] = readMigrations(),
): Promise<MigrationResult> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK})`);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS vault_schema_migrations (
           version    integer     PRIMARY KEY,
           name       text        NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>('SELECT version FROM vault_schema_migrations');
      const done = new Set(rows.map((row) => row.version));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO vault_schema_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(
            `vault migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        applied.push(migration.version);
        done.add(migration.version);
      }
      const known = Math.max(0, ...migrations.map((m) => m.version));
      return { applied, version: Math.max(0, ...done), known };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`).catch(() => {
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    // A connection whose state is in doubt (lock, transaction) is closed rather than pooled.
    client.release(broken);
  }
}
