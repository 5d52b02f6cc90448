import type { Pool } from 'pg';
import { types } from 'pg';
import Cursor from 'pg-cursor';
import { beginModelRead, resolveQuery } from './read-transaction';
import type { SqlQuery } from './types';

/** One round trip's rows, and where the stream stands after them. */
export interface RowBatch {
  /**
   * The rows, as arrays of column values. Columns rendered `withCursor` are still at the end of each row: cutting
   * them off would copy every row for nothing.
   */
  rows: unknown[][];
  /** The cursor columns of the last row, as text: pass it as `after` to resume behind this batch. */
  cursor: string[];
}

export interface StreamRowsOptions {
  batchSize: number;
  /** How many trailing columns are the cursor (the query was rendered `withCursor`); 0 for none. */
  cursorWidth: number;
}

const TIMESTAMP_OIDS = [1114, 1184];

/**
 * Timestamps stay text: a JS Date would drop their microseconds. bigint stays text too (pg's default), the rest as
 * pg parses it.
 */
const textTimestamps = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TIMESTAMP_OIDS.includes(oid)
      ? (value: string) => value
      : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

/**
 * Streams a query's rows in batches of `batchSize` through a server-side cursor: memory holds one batch, whatever
 * the number of rows. The session runs in UTC, so timestamps read as `2024-05-01 10:00:00.123456+00`.
 */
export async function* streamRows(pool: Pool, query: SqlQuery, options: StreamRowsOptions): AsyncGenerator<RowBatch> {
  const client = await pool.connect();
  let released = false;
  try {
    // A cursor needs a transaction to stay open across fetches on a pooled connection.
    await beginModelRead(client);
    const { text, values } = await resolveQuery(client, query);
    const cursor = client.query(new Cursor<unknown[]>(text, values, { rowMode: 'array', types: textTimestamps }));
    try {
      for (;;) {
        const rows = await cursor.read(options.batchSize);
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        yield { rows, cursor: last.slice(last.length - options.cursorWidth) as string[] };
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

/** The first column of each row (e.g. a JSON line), batch by batch. */
export async function* streamTextColumn(pool: Pool, query: SqlQuery, batchSize: number): AsyncGenerator<string[]> {
  for await (const batch of streamRows(pool, query, { batchSize, cursorWidth: 0 })) {
    yield batch.rows.map((row) => row[0] as string);
  }
}
