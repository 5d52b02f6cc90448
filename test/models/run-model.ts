import type { Pool } from 'pg';
import { buildModelQuery, type ModelQueryInput } from '../../src/models';
import { beginModelRead, resolveQuery } from '../../src/models/read-transaction';
import { jsonLinesQuery, type SqlQuery } from '../../src/models/types';

export type ExportedRow = Record<string, unknown>;

/** Runs a model's query for one interval, as an export would, and returns the JSON rows in export order. */
export async function exportedRows(
  pool: Pool,
  batchExport: Partial<ModelQueryInput['batchExport']> & { team_id: number },
  interval: { start: string; end: string },
  destination: Pick<ModelQueryInput, 'includeEvents' | 'excludeEvents'> = {},
): Promise<ExportedRow[]> {
  const query = jsonLinesQuery(
    buildModelQuery({
      batchExport: { model: 'events', hogql_query: null, filters: null, ...batchExport },
      dataIntervalStart: new Date(interval.start),
      dataIntervalEnd: new Date(interval.end),
      ...destination,
    }),
  );
  const rows = await queryRows<{ line: string }>(pool, query);
  return rows.map((row) => JSON.parse(row.line) as ExportedRow);
}

/** A rendered model query's rows, read in one plain query (no cursor, no COPY) in an export's read transaction. */
export async function queryRows<R extends Record<string, unknown>>(pool: Pool, query: SqlQuery): Promise<R[]> {
  const client = await pool.connect();
  try {
    await beginModelRead(client);
    const { rows } = await client.query<R>(await resolveQuery(client, query));
    await client.query('COMMIT');
    return rows;
  } finally {
    client.release();
  }
}
