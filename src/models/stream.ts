import type { Pool } from 'pg';
import Cursor from 'pg-cursor';
import type { SqlQuery } from './types';

/**
 * Streams the first column of a query's rows in batches of `batchSize`, through a server-side cursor: memory holds
 * one batch, whatever the number of rows. Timestamps are rendered in UTC.
 */
export async function* streamTextColumn(pool: Pool, query: SqlQuery, batchSize: number): AsyncGenerator<string[]> {
  const client = await pool.connect();
  let released = false;
  try {
    await client.query("SET TIME ZONE 'UTC'");
    // A cursor needs a transaction to stay open across fetches on a pooled connection.
    await client.query('BEGIN READ ONLY');
    const cursor = client.query(new Cursor<string[]>(query.text, query.values, { rowMode: 'array' }));
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length === 0) break;
        yield rows.map((row) => row[0] as string);
      }
    } finally {
      await cursor.close();
    }
    await client.query('COMMIT');
  } catch (error) {
    // The connection may be mid-query; do not return it to the pool.
    client.release(error instanceof Error ? error : true);
    released = true;
    throw error;
  } finally {
    if (!released) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }
}
