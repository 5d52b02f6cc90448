import type { Queryable } from './batch-exports';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface LogEntry {
  teamId: number;
  batchExportId: string;
  runId?: string | null;
  backfillId?: string | null;
  level: LogLevel;
  message: string;
}

/** Writes a log line the user reads through the API's logs endpoints. */
export async function writeLog(db: Queryable, entry: LogEntry): Promise<void> {
  await db.query(
    `INSERT INTO batch_export_log_entries (team_id, batch_export_id, run_id, backfill_id, level, message)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [entry.teamId, entry.batchExportId, entry.runId ?? null, entry.backfillId ?? null, entry.level, entry.message],
  );
}
