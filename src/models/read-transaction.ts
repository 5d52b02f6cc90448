import type { PoolClient } from 'pg';
import type { SqlQuery } from './types';

/**
 * Opens the transaction a model's rows are read in: one snapshot for the query and its `prepare` step (REPEATABLE
 * READ), timestamps printed in UTC, no JIT (it compiles for 1-2 s before the first row, which most intervals, small
 * ones, never earn back), and work_mem enough for deduplicating an interval's uuids in memory.
 */
export async function beginModelRead(client: PoolClient): Promise<void> {
  await client.query("SET TIME ZONE 'UTC'");
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query('SET LOCAL jit = off');
  await client.query(`SET LOCAL work_mem = '64MB'`);
}

/**
 * The query ready to run: its `prepare` step run first (in the caller's transaction) and its value put in place.
 * Call inside beginModelRead's transaction, so that both see the same rows.
 */
export async function resolveQuery(client: PoolClient, query: SqlQuery): Promise<SqlQuery> {
  if (!query.prepare) return query;
  const { rows } = await client.query<unknown[]>({
    text: query.prepare.text,
    values: query.prepare.values,
    rowMode: 'array',
  });
  const values = [...query.values];
  values[query.prepare.parameter - 1] = rows[0]?.[0] ?? null;
  return { text: query.text, values };
}

/** Stands for a parameter that `resolveQuery` fills in; sending it unresolved is a bug, and fails. */
export class PreparedValue {
  toPostgres(): never {
    throw new Error('A model query was run without resolveQuery: its prepared parameter has no value');
  }
}
