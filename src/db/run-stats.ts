import type { Queryable } from './batch-exports';

/** Aggregates over runs for the web console's overviews: one bounded query each, never a walk over every run. */

export interface ExportRunStats {
  batch_export_id: string;
  /** Rows the export's completed runs of the window wrote. */
  records: number;
  completed: number;
  failed: number;
}

/**
 * Per export of `teamIds` (exports without runs in the window are left out): rows written and runs completed or
 * failed by the runs of the intervals that ended at or after `since`: the runs' (batch_export_id, data_interval_end)
 * index bounds the work per export.
 */
export async function runStatsSince(db: Queryable, teamIds: number[], since: Date): Promise<ExportRunStats[]> {
  const { rows } = await db.query<{ batch_export_id: string; records: string; completed: string; failed: string }>(
    `SELECT r.batch_export_id,
            coalesce(sum(r.records_completed) FILTER (WHERE r.status = 'Completed'), 0) AS records,
            count(*) FILTER (WHERE r.status = 'Completed') AS completed,
            count(*) FILTER (WHERE r.status IN ('Failed', 'FailedRetryable', 'FailedBilling', 'TimedOut', 'Terminated')) AS failed
     FROM batch_exports e JOIN batch_export_runs r ON r.batch_export_id = e.id
     WHERE e.team_id = ANY($1::bigint[]) AND NOT e.deleted AND r.data_interval_end >= $2
     GROUP BY r.batch_export_id`,
    [teamIds, since],
  );
  return rows.map((row) => ({
    batch_export_id: row.batch_export_id,
    records: Number(row.records),
    completed: Number(row.completed),
    failed: Number(row.failed),
  }));
}

/** The mean rows per run of the export's latest `sample` completed runs, and how many runs that mean is over. */
export async function recentRecordsPerRun(
  db: Queryable,
  batchExportId: string,
  sample = 50,
): Promise<{ mean: number | null; runs: number }> {
  const { rows } = await db.query<{ mean: string | null; runs: string }>(
    `SELECT avg(records_completed) AS mean, count(*) AS runs FROM (
       SELECT records_completed FROM batch_export_runs
       WHERE batch_export_id = $1 AND status = 'Completed' AND records_completed IS NOT NULL
       ORDER BY data_interval_end DESC LIMIT $2) latest`,
    [batchExportId, sample],
  );
  const row = rows[0]!;
  return { mean: row.mean === null ? null : Number(row.mean), runs: Number(row.runs) };
}
