import pg from 'pg';
import type { Sealed } from './envelope.js';
import { migrate } from './migrations.js';
import { inTransaction } from './pg-transaction.js';
import type { GrantKey, GrantRecord, GrantUpdate, PendingConnect, VaultStore } from './vault-store.js';

export interface PostgresVaultOptions {
  /** Longest wait for another instance's refresh of the same grant, milliseconds. */
  readonly lockTimeoutMs: number;
  /** Bound on connecting to the database, milliseconds. */
  readonly connectTimeoutMs?: number;
  /** Bound on every other statement (the grant lock's wait has its own, lockTimeoutMs), milliseconds. */
  readonly statementTimeoutMs?: number;
  /** Called with errors of idle pooled connections (the database restarted, ...). */
  readonly onIdleError?: (error: Error) => void;
}

const GRANT_COLUMNS = `connection, user_iss, user_sub, status, scopes,
  extract(epoch from expires_at)::bigint AS expires_at, key_id, wrapped_key, ciphertext, reason,
  extract(epoch from connected_at)::bigint AS connected_at, extract(epoch from updated_at)::bigint AS updated_at`;

const PENDING_COLUMNS = `state_hash, connect_code_hash, connection, user_iss, user_sub, client_id, redirect_uri,
  scopes, key_id, wrapped_key, ciphertext, extract(epoch from expires_at)::bigint AS expires_at`;

const WHERE_GRANT = 'connection = $1 AND user_iss = $2 AND user_sub = $3';

/** Default bound on one statement, milliseconds: past it the caller gets 503 (the vault is unavailable). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;
/** How much longer than the database's own bound the client waits for an answer before dropping the connection. */
const CLIENT_TIMEOUT_SLACK_MS = 1000;

/** The vault in PostgreSQL (DATABASE_URL): shared by every instance; the grant lock is a row lock. */
export class PostgresVaultStore implements VaultStore {
  readonly pool: pg.Pool;
  private readonly statementTimeoutMs: number;

  constructor(
    private readonly connectionString: string,
    private readonly options: PostgresVaultOptions,
  ) {
    this.statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    this.pool = new pg.Pool({
      connectionString,
      max: 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      application_name: 'actbridge',
      // Without a bound a statement stuck behind a lock (or a database that stopped answering) held its
      // request and a pooled connection forever: the database cancels it (statement_timeout), and if it
      // cannot be reached the client gives up a little later (query_timeout; the connection is dropped).
      statement_timeout: this.statementTimeoutMs,
      query_timeout: this.statementTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
    });
    // Without a listener an idle connection's error (database restart) would end the process.
    this.pool.on('error', (error) => options.onIdleError?.(error));
  }

  /** On a connection of its own, without the statement bound: another instance's migration is waited for. */
  async migrate(): Promise<void> {
    const pool = new pg.Pool({
      connectionString: this.connectionString,
      max: 1,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
      application_name: 'actbridge',
    });
    pool.on('error', (error) => this.options.onIdleError?.(error));
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
  }

  async read(key: GrantKey): Promise<GrantRecord | undefined> {
    const { rows } = await this.pool.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM vault_grants WHERE ${WHERE_GRANT}`, [
      key.connection,
      key.user.iss,
      key.user.sub,
    ]);
    return rows[0] && grantRecord(rows[0]);
  }

  async withGrantLock<T>(
    key: GrantKey,
    work: (record: GrantRecord | undefined) => Promise<{ readonly update?: GrantUpdate; readonly value: T }>,
  ): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      // A refresh held up elsewhere is waited for, but not forever; the statement bound must not cut that wait first.
      const lockTimeout = Math.max(1, Math.floor(this.options.lockTimeoutMs));
      await client.query(`SET LOCAL lock_timeout = ${lockTimeout}`);
      await client.query(`SET LOCAL statement_timeout = ${lockTimeout + this.statementTimeoutMs}`);
      const { rows } = await client.query<GrantRow>({
        text: `SELECT ${GRANT_COLUMNS} FROM vault_grants WHERE ${WHERE_GRANT} FOR UPDATE`,
        values: [key.connection, key.user.iss, key.user.sub],
        // node-postgres reads query_timeout from a query's config too; its types only know the pool's.
        query_timeout: lockTimeout + this.statementTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
      } as pg.QueryConfig);
      const record = rows[0] && grantRecord(rows[0]);
      const { update, value } = await work(record);
      if (update && record) await client.query(updateSql(update), [...updateParams(update), ...keyParams(key)]);
      return value;
    });
  }

  async save(key: GrantKey, tokens: Extract<GrantUpdate, { kind: 'tokens' }>): Promise<void> {
    await this.pool.query(
      `INSERT INTO vault_grants (connection, user_iss, user_sub, status, scopes, expires_at, key_id, wrapped_key, ciphertext)
       VALUES ($1, $2, $3, 'connected', $4, to_timestamp($5), $6, $7, $8)
       ON CONFLICT (connection, user_iss, user_sub) DO UPDATE SET
         status = 'connected', scopes = EXCLUDED.scopes, expires_at = EXCLUDED.expires_at,
         key_id = EXCLUDED.key_id, wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext,
         reason = NULL, connected_at = now(), updated_at = now()`,
      [...keyParams(key), tokens.scopes, tokens.expiresAt, ...sealedParams(tokens.sealed)],
    );
  }

  async remove(key: GrantKey): Promise<GrantRecord | undefined> {
    const { rows } = await this.pool.query<GrantRow>(
      `DELETE FROM vault_grants WHERE ${WHERE_GRANT} RETURNING ${GRANT_COLUMNS}`,
      keyParams(key),
    );
    return rows[0] && grantRecord(rows[0]);
  }

  async savePending(pending: PendingConnect): Promise<void> {
    // Flows nobody finished are dropped as new ones start.
    await this.pool.query('DELETE FROM vault_connect_requests WHERE expires_at < now()');
    await this.pool.query(
      `INSERT INTO vault_connect_requests
         (state_hash, connection, user_iss, user_sub, client_id, redirect_uri, scopes, key_id, wrapped_key, ciphertext, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, to_timestamp($11))`,
      [
        pending.stateHash,
        pending.connection,
        pending.user.iss,
        pending.user.sub,
        pending.clientId,
        pending.redirectUri,
        pending.scopes,
        ...sealedParams(pending.sealed),
        pending.expiresAt,
      ],
    );
  }

  async findPendingByState(stateHash: string): Promise<PendingConnect | undefined> {
    const { rows } = await this.pool.query<PendingRow>(
      `SELECT ${PENDING_COLUMNS} FROM vault_connect_requests
       WHERE state_hash = $1 AND connect_code_hash IS NULL AND expires_at > now()`,
      [stateHash],
    );
    return rows[0] && pendingConnect(rows[0]);
  }

  async markReturned(stateHash: string, connectCodeHash: string, sealed: Sealed): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE vault_connect_requests SET connect_code_hash = $2, key_id = $3, wrapped_key = $4, ciphertext = $5
       WHERE state_hash = $1 AND connect_code_hash IS NULL AND expires_at > now()`,
      [stateHash, connectCodeHash, ...sealedParams(sealed)],
    );
    return rowCount === 1;
  }

  async takePendingByCode(connectCodeHash: string): Promise<PendingConnect | undefined> {
    const { rows } = await this.pool.query<PendingRow>(
      `DELETE FROM vault_connect_requests WHERE connect_code_hash = $1 RETURNING ${PENDING_COLUMNS}`,
      [connectCodeHash],
    );
    const pending = rows[0] && pendingConnect(rows[0]);
    return pending && pending.expiresAt > Date.now() / 1000 ? pending : undefined;
  }

  async removePending(stateHash: string): Promise<void> {
    await this.pool.query('DELETE FROM vault_connect_requests WHERE state_hash = $1', [stateHash]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface GrantRow {
  connection: string;
  user_iss: string;
  user_sub: string;
  status: 'connected' | 'disconnected';
  scopes: string[];
  expires_at: string | null;
  key_id: string | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  reason: string | null;
  connected_at: string;
  updated_at: string;
}

interface PendingRow {
  state_hash: string;
  connect_code_hash: string | null;
  connection: string;
  user_iss: string;
  user_sub: string;
  client_id: string;
  redirect_uri: string;
  scopes: string[];
  key_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
  expires_at: string;
}

function grantRecord(row: GrantRow): GrantRecord {
  return {
    key: { connection: row.connection, user: { iss: row.user_iss, sub: row.user_sub } },
    status: row.status,
    scopes: row.scopes,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    sealed:
      row.key_id === null || row.wrapped_key === null || row.ciphertext === null
        ? null
        : { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
    connectedAt: Number(row.connected_at),
    updatedAt: Number(row.updated_at),
    ...(row.reason === null ? {} : { reason: row.reason }),
  };
}

function pendingConnect(row: PendingRow): PendingConnect {
  return {
    stateHash: row.state_hash,
    connection: row.connection,
    user: { iss: row.user_iss, sub: row.user_sub },
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    scopes: row.scopes,
    sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
    expiresAt: Number(row.expires_at),
    ...(row.connect_code_hash === null ? {} : { connectCodeHash: row.connect_code_hash }),
  };
}

function keyParams(key: GrantKey): [string, string, string] {
  return [key.connection, key.user.iss, key.user.sub];
}

function sealedParams(sealed: Sealed): [string, Buffer, Buffer] {
  return [sealed.keyId, sealed.wrappedKey, sealed.ciphertext];
}

/** The UPDATE of a locked grant; its key follows the update's own parameters. */
function updateSql(update: GrantUpdate): string {
  return update.kind === 'tokens'
    ? `UPDATE vault_grants SET status = 'connected', scopes = $1, expires_at = to_timestamp($2),
         key_id = $3, wrapped_key = $4, ciphertext = $5, reason = NULL, updated_at = now()
       WHERE connection = $6 AND user_iss = $7 AND user_sub = $8`
    : `UPDATE vault_grants SET status = 'disconnected', reason = $1, expires_at = NULL,
         key_id = NULL, wrapped_key = NULL, ciphertext = NULL, updated_at = now()
       WHERE connection = $2 AND user_iss = $3 AND user_sub = $4`;
}

function updateParams(update: GrantUpdate): unknown[] {
  return update.kind === 'tokens' ? [update.scopes, update.expiresAt, ...sealedParams(update.sealed)] : [update.reason];
}
