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

export interface LogRecord {
  id: number;
  team_id: number;
  batch_export_id: string;
  run_id: string | null;
  backfill_id: string | null;
  timestamp: Date;
  level: LogLevel;
  message: string;
}

export interface LogQuery {
  batchExportId: string;
  /** A run or a backfill: the entries it wrote. */
  instanceId?: string;
  levels?: LogLevel[];
  /** Case-insensitive substring of the message; taken literally (no wildcards). */
  search?: string;
  after?: Date;
  before?: Date;
  limit: number;
}

/** An export's log entries, newest first. */
export async function queryLogs(db: Queryable, query: LogQuery): Promise<LogRecord[]> {
  const { rows } = await db.query<LogRecord>(
    `SELECT id, team_id, batch_export_id, run_id, backfill_id, timestamp, level, message
     FROM batch_export_log_entries
     WHERE batch_export_id = $1::uuid
       AND ($2::uuid IS NULL OR run_id = $2 OR backfill_id = $2)
       AND ($3::text[] IS NULL OR level = ANY($3::text[]))
       AND ($4::text IS NULL OR message ILIKE '%' || $4 || '%')
       AND ($5::timestamptz IS NULL OR timestamp > $5)
       AND ($6::timestamptz IS NULL OR timestamp < $6)
     ORDER BY timestamp DESC, id DESC
     LIMIT $7`,
    [
      query.batchExportId,
      query.instanceId ?? null,
      query.levels ?? null,
      query.search === undefined ? null : query.search.replace(/[\\%_]/g, '\\$&'),
      query.after ?? null,
      query.before ?? null,
      query.limit,
    ],
  );
  return rows;
}
