/**
 * The token vault, for operators (same environment as the server: DATABASE_URL, VAULT_KEYS, VAULT_KEY_ID):
 *   npm run -s vault -- migrate        apply the SQL migrations (actbridge also does at startup)
 *   npm run -s vault -- status         schema version, grants by status, sealed records by key
 *   npm run -s vault -- rewrap         wrap every data key with the active key (after a KEK rotation)
 *   npm run -s vault -- generate-key [--kid <kid>] [--out <file>]   a new key-encryption key (JWK)
 * Exit code: 0 done, 1 the database could not be reached or a record could not be re-wrapped, 2 usage
 * or configuration error.
 */
import 'reflect-metadata';
import { parseCliArgs } from './cli-args.js';
import pg from 'pg';
import { ConfigError } from '../config/config-error.js';
import { loadServerConfig } from '../config/server-config.js';
import { printable } from '../common/printable.js';
import { rootCause } from '../trust-anchors/fetch-failure.js';
import { generateVaultKey, loadKeyRing } from '../vault/key-ring.js';
import { migrate } from '../vault/migrations.js';
import { WriteRefused, writeNewFile } from './write-new-file.js';
import { rewrapAll, vaultStatus } from '../vault/vault-maintenance.js';

const USAGE = 'usage: npm run -s vault -- migrate | status | rewrap | generate-key [--kid <kid>] [--out <file>]\n';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseCliArgs({
      options: { kid: { type: 'string' }, out: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const command = parsed.positionals[0];
  if (parsed.positionals.length !== 1 || !['migrate', 'status', 'rewrap', 'generate-key'].includes(command!)) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (command === 'generate-key') {
    // VAULT_KEYS refuses a key without a kid: do not write one.
    // `--out=` (an unset $VARIABLE) must not fall back to printing the key to the terminal or a CI log.
    for (const option of ['kid', 'out'] as const) {
      if (parsed.values[option] !== '') continue;
      process.stderr.write(`--${option}: must not be empty\n${USAGE}`);
      return 2;
    }
    const key = generateVaultKey(parsed.values.kid);
    const text = `${JSON.stringify(key, null, 2)}\n`;
    if (!parsed.values.out) {
      process.stdout.write(text);
      return 0;
    }
    try {
      // Never over an existing key file (its key may still seal records), and one line, not a stack, when refused.
      writeNewFile(parsed.values.out, text);
    } catch (error) {
      if (!(error instanceof WriteRefused)) throw error;
      process.stderr.write(`vault: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`wrote ${parsed.values.out} (kid ${key.kid}, mode 0600)\n`);
    return 0;
  }

  let server;
  let ring;
  try {
    server = loadServerConfig(process.env, 'development');
    ring = command === 'rewrap' ? loadKeyRing(server) : undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`vault: configuration error: ${error.message}\n`);
    return 2;
  }
  if (server.databaseUrl === undefined) {
    process.stderr.write('vault: DATABASE_URL is not set: the vault is in process memory, nothing to do\n');
    return 2;
  }
  if (command === 'rewrap' && ring === undefined) {
    process.stderr.write('vault: VAULT_KEYS is not set: rewrap needs the old keys and the active one\n');
    return 2;
  }
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 2, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  try {
    if (command === 'migrate') {
      const result = await migrate(pool);
      process.stdout.write(
        result.applied.length > 0
          ? `applied ${result.applied.join(', ')}; schema at version ${result.version}\n`
          : `schema at version ${result.version}; nothing to apply\n`,
      );
      return 0;
    }
    if (command === 'rewrap') {
      const result = await rewrapAll(pool, ring!);
      process.stdout.write(`re-wrapped ${result.rewrapped} record(s) with key "${ring!.activeKid}"\n`);
      for (const failure of result.failed)
        // A user's sub (and a key_id) is data: an escape sequence or a newline in it must not reach the terminal as such.
        process.stderr.write(`could not re-wrap ${printable(failure.record)}: ${printable(failure.error)}\n`);
      return result.failed.length > 0 ? 1 : 0;
    }
    const status = await vaultStatus(pool);
    // A key_id is read from the database: printed like any stored data, control characters escaped.
    const counts = (record: Readonly<Record<string, number>>) =>
      Object.entries(record)
        .map(([name, n]) => `${printable(name)} ${n}`)
        .join(', ') || 'none';
    process.stdout.write(
      [
        `schema version ${status.schemaVersion} (this build knows ${status.knownVersion})`,
        `grants: ${counts(status.grants)}`,
        `sealed records by key: ${counts(status.byKey)}`,
        `connect flows in progress: ${status.pendingConnects}`,
      ].join('\n') + '\n',
    );
    return 0;
  } catch (error) {
    process.stderr.write(`vault: ${command} failed: ${rootCause(error)}\n`);
    return 1;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

process.exitCode = await main();
