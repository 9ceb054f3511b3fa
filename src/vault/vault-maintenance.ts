import type pg from 'pg';
import { rewrap, type Sealed } from './envelope.js';
import type { KeyRing } from './key-ring.js';
import { readMigrations } from './migrations.js';
import { inTransaction } from './pg-transaction.js';
import { grantBinding, pendingBinding, type GrantKey } from './vault-store.js';

export interface RewrapResult {
  /** Records whose data key is now wrapped by the active key. */
  readonly rewrapped: number;
  /**
   * Records that could not be opened (their key is not in VAULT_KEYS, or they were tampered with), each
   * named by its user: a sub is unique only with its issuer (RFC 7519 §4.1.2), and it is a token's claim.
   */
  readonly failed: ReadonlyArray<{ readonly record: string; readonly error: string }>;
}

const BATCH = 100;

/**
 * KEK rotation: every data key wrapped by another key than the active one is unwrapped and wrapped
 * again by the active key, row by row under the row's lock (a refresh running meanwhile is waited
 * for); ciphertexts are not touched. Safe to run again, and while actbridge serves.
 */
export async function rewrapAll(pool: pg.Pool, ring: KeyRing): Promise<RewrapResult> {
  let rewrapped = 0;
  const failed: Array<{ record: string; error: string }> = [];
  const grants = await pool.query<{ connection: string; user_iss: string; user_sub: string }>(
    'SELECT connection, user_iss, user_sub FROM vault_grants WHERE key_id <> $1',
    [ring.activeKid],
  );
  const grantKeys: GrantKey[] = grants.rows.map((r) => ({
    connection: r.connection,
    user: { iss: r.user_iss, sub: r.user_sub },
  }));
  for (let i = 0; i < grantKeys.length; i += BATCH) {
    await inTransaction(pool, async (client) => {
      for (const key of grantKeys.slice(i, i + BATCH)) {
        const where = 'connection = $1 AND user_iss = $2 AND user_sub = $3';
        const params = [key.connection, key.user.iss, key.user.sub];
        const { rows } = await client.query<SealedRow>(
          `SELECT key_id, wrapped_key, ciphertext FROM vault_grants WHERE ${where} FOR UPDATE`,
          params,
        );
        const label = `grant ${key.connection} of ${key.user.sub} (${key.user.iss})`;
        const next = rewrapRow(rows[0], ring, grantBinding(key), label, failed);
        if (!next) continue;
        await client.query(`UPDATE vault_grants SET key_id = $4, wrapped_key = $5 WHERE ${where}`, [
          ...params,
          next.keyId,
          next.wrappedKey,
        ]);
        rewrapped++;
      }
    });
  }

  const pending = await pool.query<PendingKeyRow>(
    `SELECT state_hash, connection, user_iss, user_sub, client_id, redirect_uri FROM vault_connect_requests
     WHERE key_id <> $1 AND expires_at > now()`,
    [ring.activeKid],
  );
  for (let i = 0; i < pending.rows.length; i += BATCH) {
    await inTransaction(pool, async (client) => {
      for (const row of pending.rows.slice(i, i + BATCH)) {
        const { rows } = await client.query<SealedRow>(
          'SELECT key_id, wrapped_key, ciphertext FROM vault_connect_requests WHERE state_hash = $1 FOR UPDATE',
          [row.state_hash],
        );
        const binding = pendingBinding({
          stateHash: row.state_hash,
          connection: row.connection,
          user: { iss: row.user_iss, sub: row.user_sub },
          clientId: row.client_id,
          redirectUri: row.redirect_uri,
        });
        const next = rewrapRow(rows[0], ring, binding, `connect request of ${row.user_sub} (${row.user_iss})`, failed);
        if (!next) continue;
        await client.query('UPDATE vault_connect_requests SET key_id = $2, wrapped_key = $3 WHERE state_hash = $1', [
          row.state_hash,
          next.keyId,
          next.wrappedKey,
        ]);
        rewrapped++;
      }
    });
  }
  return { rewrapped, failed };
}

export interface VaultStatus {
  readonly schemaVersion: number;
  readonly knownVersion: number;
  readonly grants: Readonly<Record<string, number>>;
  /** Sealed records (grants and connect requests) by the kid that wraps their data key. */
  readonly byKey: Readonly<Record<string, number>>;
  readonly pendingConnects: number;
}

export async function vaultStatus(pool: pg.Pool): Promise<VaultStatus> {
  const version = await pool.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM vault_schema_migrations',
  );
  const grants = await pool.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM vault_grants GROUP BY status ORDER BY status',
  );
  const byKey = await pool.query<{ key_id: string; n: string }>(
    `SELECT key_id, count(*) AS n FROM (
       SELECT key_id FROM vault_grants WHERE key_id IS NOT NULL
       UNION ALL SELECT key_id FROM vault_connect_requests WHERE expires_at > now()
     ) sealed GROUP BY key_id ORDER BY key_id`,
  );
  const pending = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM vault_connect_requests WHERE expires_at > now()',
  );
  return {
    schemaVersion: version.rows[0]?.version ?? 0,
    knownVersion: Math.max(0, ...readMigrations().map((m) => m.version)),
    grants: Object.fromEntries(grants.rows.map((r) => [r.status, Number(r.n)])),
    byKey: Object.fromEntries(byKey.rows.map((r) => [r.key_id, Number(r.n)])),
    pendingConnects: Number(pending.rows[0]?.n ?? 0),
  };
}

interface SealedRow {
  key_id: string | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
}

interface PendingKeyRow {
  state_hash: string;
  connection: string;
  user_iss: string;
  user_sub: string;
  client_id: string;
  redirect_uri: string;
}

function rewrapRow(
  row: SealedRow | undefined,
  ring: KeyRing,
  binding: readonly string[],
  label: string,
  failed: Array<{ record: string; error: string }>,
): Sealed | undefined {
  // Gone, disconnected or already re-wrapped (by a refresh) since the list was read.
  if (!row || row.key_id === null || row.wrapped_key === null || row.ciphertext === null) return undefined;
  if (row.key_id === ring.activeKid) return undefined;
  try {
    return rewrap(ring, { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, binding);
  } catch (error) {
    failed.push({ record: label, error: (error as Error).message });
    return undefined;
  }
}
