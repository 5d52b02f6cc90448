import type { ClientBase, Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside BEGIN ... COMMIT on `client`; when it throws, rolls back (a failed ROLLBACK, e.g. on a lost
 * connection, does not hide the original error) and rethrows.
 */
export async function inTransaction<C extends ClientBase, T>(client: C, work: (tx: C) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Runs `work` in a transaction on a client of the pool (see inTransaction), then gives the client back. */
export async function withTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, work);
  } finally {
    client.release();
  }
}
