import type { Queryable } from '../db/batch-exports';
import { queryLogs, type LogLevel, type LogRecord } from '../db/logs';

/** The filters of the logs endpoints, as their query strings name them. */
export interface LogFilters {
  level?: LogLevel[];
  search?: string;
  /** A run or backfill id. */
  instance_id?: string;
  after?: Date;
  before?: Date;
  limit: number;
}

/** An export's log entries, newest first, filtered. */
export function readLogs(db: Queryable, batchExportId: string, filters: LogFilters): Promise<LogRecord[]> {
  return queryLogs(db, {
    batchExportId,
    instanceId: filters.instance_id,
    levels: filters.level,
    search: filters.search,
    after: filters.after,
    before: filters.before,
    limit: filters.limit,
  });
}
