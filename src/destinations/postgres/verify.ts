import type { Client } from 'pg';
import { escapeIdentifier } from 'pg';

/**
 * The Postgres destination's own count after commit: each batch records the keys it wrote in a session table
 * (kept across commits), and after the last commit the table's rows with those keys are counted. The run fails
 * when the table holds fewer (or more) of the interval's rows than the source had.
 */

export const WRITTEN_KEYS = escapeIdentifier('batch_export_written_keys');

/** (Re)creates the session's key table with the target's key column types. */
export function keysTableStatements(keys: readonly string[], target: string): string[] {
  const list = keys.map(escapeIdentifier).join(', ');
  return [
    `DROP TABLE IF EXISTS pg_temp.${WRITTEN_KEYS}`,
    `CREATE TEMPORARY TABLE ${WRITTEN_KEYS} ON COMMIT PRESERVE ROWS AS SELECT ${list} FROM ${target} WITH NO DATA`,
  ];
}

/** Records the staging table's keys, in the batch's transaction: they commit (or roll back) with the batch. */
export function recordKeysStatement(keys: readonly string[], staging: string): string {
  const list = keys.map(escapeIdentifier).join(', ');
  return `INSERT INTO ${WRITTEN_KEYS} (${list}) SELECT ${list} FROM ${staging}`;
}

/** The table's rows whose key this session wrote. */
export async function countWrittenRows(client: Client, keys: readonly string[], target: string): Promise<number> {
  const list = keys.map(escapeIdentifier).join(', ');
  const { rows } = await client.query<{ count: string }>(
    `SELECT count(*) AS count FROM ${target} WHERE (${list}) IN (SELECT ${list} FROM ${WRITTEN_KEYS})`,
  );
  return Number(rows[0]!.count);
}
