import type { Pool, PoolClient } from 'pg';
import { MODELS, type ModelName } from './registry';

export interface DataBounds {
  /** The earliest insertion time in the range, or null when the range holds no rows. */
  firstInsertedAt: Date | null;
  /**
   * Rows in the range. An estimate: it counts raw rows, before the model deduplicates them and before the export's
   * event and property filters.
   */
  records: number;
}

/** Where the team's rows of the model start within [from, until) (from = null: since the beginning). */
export async function dataBounds(
  db: Pick<Pool | PoolClient, 'query'>,
  input: { teamId: number; model: ModelName; from: Date | null; until: Date },
): Promise<DataBounds> {
  let firstInsertedAt: Date | null = null;
  let records = 0;
  for (const table of MODELS[input.model].sourceTables) {
    // Table names come from the model registry, never from input.
    const { rows } = await db.query<{ first: Date | null; records: number }>(
      `SELECT min(inserted_at) AS first, count(*)::bigint AS records FROM ${table}
       WHERE team_id = $1 AND inserted_at >= COALESCE($2::timestamptz, '-infinity') AND inserted_at < $3`,
      [input.teamId, input.from, input.until],
    );
    const row = rows[0]!;
    records += row.records;
    if (row.first && (!firstInsertedAt || row.first < firstInsertedAt)) firstInsertedAt = row.first;
  }
  return { firstInsertedAt, records };
}

/**
 * The team's raw rows of the model in [from, until), counted no further than `limit + 1`: enough to tell whether an
 * interval holds more than `limit` without counting a large one to the end (each table is read from its (team_id,
 * inserted_at) index and stops at the bound). Raw rows, like DataBounds.records: before deduplication and filters.
 */
export async function countRowsUpTo(
  db: Pick<Pool | PoolClient, 'query'>,
  input: { teamId: number; model: ModelName; from: Date; until: Date; limit: number },
): Promise<number> {
  let records = 0;
  for (const table of MODELS[input.model].sourceTables) {
    const left = input.limit + 1 - records;
    if (left <= 0) break;
    // Table names come from the model registry, never from input.
    const { rows } = await db.query<{ records: number }>(
      `SELECT count(*)::int AS records FROM (SELECT 1 FROM ${table}
       WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3 LIMIT $4) AS bounded`,
      [input.teamId, input.from, input.until, left],
    );
    records += rows[0]!.records;
  }
  return records;
}
