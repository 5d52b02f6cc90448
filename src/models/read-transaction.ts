import { escapeLiteral } from 'pg';
import type { PoolClient } from 'pg';
import type { SqlQuery } from './types';

/**
 * Opens the transaction a model's rows are read in: one snapshot for the query and its `prepare` step (REPEATABLE
 * READ; `snapshot`: the exported snapshot of another such transaction), timestamps printed in UTC, no JIT (it
 * compiles for 1-2 s before the first row, which most intervals, small ones, never earn back), and work_mem enough
 * for deduplicating an interval's uuids in memory.
 */
export async function beginModelRead(
  client: PoolClient,
  options: { snapshot?: string; indexOrdered?: boolean } = {},
): Promise<void> {
  const { snapshot } = options;
  // One round trip: the simple protocol runs the statements in order and stops at the first error.
  await client.query(
    [
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      // Another transaction's snapshot (pg_export_snapshot), so that both read the same rows.
      ...(snapshot !== undefined ? [`SET TRANSACTION SNAPSHOT ${escapeLiteral(snapshot)}`] : []),
      "SET LOCAL TIME ZONE 'UTC'",
      'SET LOCAL jit = off',
      `SET LOCAL work_mem = '64MB'`,
      // Rows read in an index's order (SqlQuery.indexOrdered): a full sort becomes the planner's last resort, so it
      // reads the index in order and sorts only ties (an incremental sort). The `prepare` step's plan is the same
      // either way (a hash aggregate; its window's sort has no alternative).
      ...(options.indexOrdered ? ['SET LOCAL enable_sort = off'] : []),
    ].join('; '),
  );
}

/**
 * The query ready to run: its `prepare` step run first (in the caller's transaction) and its value put in place.
 * Call inside beginModelRead's transaction, so that both see the same rows.
 */
export async function resolveQuery(client: PoolClient, query: SqlQuery): Promise<SqlQuery> {
  return (await queryResolver(client, query))(query);
}

/**
 * Runs `query`'s `prepare` step once and returns what puts its value in place: in `query` itself or in another
 * rendering of it with the same `prepare` (a slice, see QuerySlicing), which then need not run it again.
 */
export async function queryResolver(client: PoolClient, query: SqlQuery): Promise<(query: SqlQuery) => SqlQuery> {
  const prepare = query.prepare;
  if (!prepare) return (rendered) => rendered;
  const { rows } = await client.query<unknown[]>({ text: prepare.text, values: prepare.values, rowMode: 'array' });
  const value = rows[0]?.[0] ?? null;
  return (rendered) => {
    const values = [...rendered.values];
    values[prepare.parameter - 1] = value;
    return { text: rendered.text, values };
  };
}

/** Stands for a parameter that `resolveQuery` fills in; sending it unresolved is a bug, and fails. */
export class PreparedValue {
  toPostgres(): never {
    throw new Error('A model query was run without resolveQuery: its prepared parameter has no value');
  }
}
