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
