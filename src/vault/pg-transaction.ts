import type pg from 'pg';

/**
 * Runs `work` in one transaction on a pooled connection: COMMIT when it returns, ROLLBACK when it throws.
 * A connection whose ROLLBACK failed, or whose statement outlived the client's query_timeout, is in an
 * unknown state and is destroyed rather than reused.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const value = await work(client);
    await client.query('COMMIT');
    return value;
  } catch (error) {
    // A statement the client gave up on (query_timeout) is still running: a ROLLBACK would wait behind it.
    if ((error as Error).message === QUERY_READ_TIMEOUT) broken = true;
    else
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** node-postgres's error when a query outlives `query_timeout`. */
const QUERY_READ_TIMEOUT = 'Query read timeout';
