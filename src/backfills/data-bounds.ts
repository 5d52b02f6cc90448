import type { BatchExportRecord, Queryable } from '../db/batch-exports';

/**
 * The source tables a model reads, by insertion time. A backfill asks them where its data starts and roughly how much
 * there is; each has an index leading with (team_id, inserted_at), so both answers come from the index.
 */
const SOURCE_TABLES: Record<BatchExportRecord['model'], readonly string[]> = {
  events: ['events'],
  persons: ['persons', 'person_distinct_ids'],
  sessions: ['sessions'],
};

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
  db: Queryable,
  input: { teamId: number; model: BatchExportRecord['model']; from: Date | null; until: Date },
): Promise<DataBounds> {
  let firstInsertedAt: Date | null = null;
  let records = 0;
  for (const table of SOURCE_TABLES[input.model]) {
    // Table names come from the constant above, never from input.
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
