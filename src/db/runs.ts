import type { Status } from '../statuses';
import type { Queryable } from './batch-exports';
import { keysetPage, keysetSql, keysetValue, type KeysetOptions, type KeysetPosition } from './keyset';

/**
 * What a run exported, from the snapshot it read: the source's rows for the interval (after deduplication and
 * filters), what was written, and for S3 each file with its SHA-256. Stored on the run and returned by the API.
 */
export interface RunReceipt {
  sourceRecords: number | null;
  recordsWritten: number;
  bytes: number;
  files: Array<{ key: string; records: number; bytes: number; sha256: string | null }>;
  /** S3: the manifest's key. */
  manifestKey?: string;
  /** Postgres: the interval's rows the table holds after the last commit, counted by the destination itself. */
  destinationRecords?: number | null;
}

export interface RunRecord {
  id: string;
  batch_export_id: string;
  status: Status;
  data_interval_start: Date | null;
  data_interval_end: Date;
  records_completed: number | null;
  records_failed: number | null;
  records_total_count: number | null;
  bytes_exported: number | null;
  latest_error: string | null;
  backfill_id: string | null;
  workflow_id: string;
  created_at: Date;
  finished_at: Date | null;
  last_updated_at: Date;
  /** The attempt running now, or the last one that failed while `next_attempt_at` is set. */
  attempt: number | null;
  /** When the next attempt starts, while the run waits to retry; null otherwise. */
  next_attempt_at: Date | null;
  receipt: RunReceipt | null;
}

export interface StartRun {
  batchExportId: string;
  dataIntervalStart: Date | null;
  dataIntervalEnd: Date;
  workflowId: string;
  /** The first run id of the workflow execution chain: a retried workflow finds its row again. */
  workflowRunId: string;
  backfillId: string | null;
}

/** Inserts the run as `Starting`, or returns the row a previous attempt of the same workflow inserted. */
export async function startRun(db: Queryable, input: StartRun): Promise<RunRecord> {
  const { rows } = await db.query<RunRecord>(
    `INSERT INTO batch_export_runs (batch_export_id, status, data_interval_start, data_interval_end, workflow_id,
                                    workflow_run_id, backfill_id)
     VALUES ($1, 'Starting', $2, $3, $4, $5, $6)
     ON CONFLICT (workflow_id, workflow_run_id) DO UPDATE SET last_updated_at = batch_export_runs.last_updated_at
     RETURNING *`,
    [
      input.batchExportId,
      input.dataIntervalStart,
      input.dataIntervalEnd,
      input.workflowId,
      input.workflowRunId,
      input.backfillId,
    ],
  );
  return rows[0]!;
}

/** Marks the run Running with the attempt now starting; a previous attempt's `latest_error` stays until it ends. */
export async function markRunRunning(db: Queryable, runId: string, attempt: number): Promise<void> {
  await db.query(
    `UPDATE batch_export_runs
     SET status = 'Running', attempt = $2, next_attempt_at = NULL, last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running')`,
    [runId, attempt],
  );
}

/**
 * Records why attempt `attempt` ended, when it recorded nothing itself: it was marked running (`attempt` set, no
 * `next_attempt_at`) and the next attempt is starting. True when that was the case.
 */
export async function recordSilentAttempt(
  db: Queryable,
  input: { runId: string; attempt: number; latestError: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE batch_export_runs SET latest_error = $3, last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running') AND attempt = $2 AND next_attempt_at IS NULL`,
    [input.runId, input.attempt, input.latestError],
  );
  return rowCount === 1;
}

export interface FailedAttempt {
  runId: string;
  attempt: number;
  /** Null when no attempt is left: the run is about to fail. */
  nextAttemptAt: Date | null;
  latestError: string;
}

/** Records why an attempt failed, while the run is still retrying (a run already final keeps what it shows). */
export async function recordFailedAttempt(db: Queryable, input: FailedAttempt): Promise<void> {
  await db.query(
    `UPDATE batch_export_runs
     SET latest_error = $2, attempt = $3, next_attempt_at = $4, last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running')`,
    [input.runId, input.latestError, input.attempt, input.nextAttemptAt],
  );
}

export interface FinishRun {
  runId: string;
  status: Exclude<Status, 'Starting' | 'Running' | 'ContinuedAsNew'>;
  recordsCompleted?: number | null;
  bytesExported?: number | null;
  latestError?: string | null;
  /** A completed run's receipt; its `sourceRecords` is also `records_total_count`. */
  receipt?: RunReceipt | null;
}

/**
 * Records a run's final status. A run already in a final status keeps it: a late activity (a retry that lost a race
 * with a cancel, say) never overwrites what the user was shown. Returns the row, or null if it was already final.
 */
export async function finishRun(db: Queryable, input: FinishRun): Promise<RunRecord | null> {
  const { rows } = await db.query<RunRecord>(
    `UPDATE batch_export_runs
     SET status = $2, records_completed = COALESCE($3, records_completed), bytes_exported = COALESCE($4, bytes_exported),
         latest_error = $5, receipt = $6::jsonb, records_total_count = COALESCE(($6::jsonb ->> 'sourceRecords')::bigint,
         records_total_count), next_attempt_at = NULL, finished_at = now(), last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running')
     RETURNING *`,
    [
      input.runId,
      input.status,
      input.recordsCompleted ?? null,
      input.bytesExported ?? null,
      input.latestError ?? null,
      input.receipt ? JSON.stringify(input.receipt) : null,
    ],
  );
  return rows[0] ?? null;
}

export async function getRun(db: Queryable, runId: string): Promise<RunRecord | null> {
  const { rows } = await db.query<RunRecord>('SELECT * FROM batch_export_runs WHERE id = $1', [runId]);
  return rows[0] ?? null;
}

export async function listRuns(db: Queryable, batchExportId: string): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRecord>(
    'SELECT * FROM batch_export_runs WHERE batch_export_id = $1 ORDER BY data_interval_end DESC, created_at DESC',
    [batchExportId],
  );
  return rows;
}

/** The most recent runs of each export, newest first: `latest_runs` in API responses. */
export async function latestRuns(db: Queryable, batchExportIds: string[], perExport: number): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRecord>(
    `SELECT r.* FROM unnest($1::uuid[]) AS e(id)
     CROSS JOIN LATERAL (
       SELECT * FROM batch_export_runs WHERE batch_export_id = e.id ORDER BY created_at DESC, id DESC LIMIT $2
     ) r`,
    [batchExportIds, perExport],
  );
  return rows;
}

export const RUN_ORDERINGS = ['created_at', '-created_at', 'data_interval_end', '-data_interval_end'] as const;
export type RunOrdering = (typeof RUN_ORDERINGS)[number];

export interface RunPageQuery {
  batchExportId: string;
  ordering: RunOrdering;
  statuses?: Status[];
  /** Runs whose data interval ends at or after this time. */
  after?: Date;
  /** Runs whose data interval ends before this time. */
  before?: Date;
  direction: 'next' | 'previous';
  position?: KeysetPosition;
  limit: number;
}

/** One page of an export's runs; `cursor_value` is the sort value, for the next cursor. */
export async function listRunsPage(
  db: Queryable,
  query: RunPageQuery,
): Promise<{ rows: Array<RunRecord & { cursor_value: string }>; more: boolean }> {
  const column = query.ordering.replace(/^-/, '');
  const keyset: KeysetOptions = {
    column,
    descending: query.ordering.startsWith('-'),
    direction: query.direction,
    position: query.position,
    limit: query.limit,
  };
  const page = keysetSql(keyset, 5);
  const { rows } = await db.query<RunRecord & { cursor_value: string }>(
    `SELECT *, ${keysetValue(column)} AS cursor_value FROM batch_export_runs
     WHERE batch_export_id = $1::uuid
       AND ($2::text[] IS NULL OR status = ANY($2::text[]))
       AND ($3::timestamptz IS NULL OR data_interval_end >= $3)
       AND ($4::timestamptz IS NULL OR data_interval_end < $4)
       AND ${page.where}
     ${page.tail}`,
    [query.batchExportId, query.statuses ?? null, query.after ?? null, query.before ?? null, ...page.params],
  );
  return keysetPage(rows, keyset);
}

/** Runs still Starting or Running: the ones to cancel when their export is deleted. */
export async function listActiveRuns(db: Queryable, batchExportId: string): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRecord>(
    `SELECT * FROM batch_export_runs WHERE batch_export_id = $1 AND status IN ('Starting', 'Running')`,
    [batchExportId],
  );
  return rows;
}

/** Of the given interval ends, those that a run of the export completed, as epoch milliseconds. */
export async function completedIntervalEnds(db: Queryable, batchExportId: string, ends: Date[]): Promise<Set<number>> {
  if (ends.length === 0) return new Set();
  const { rows } = await db.query<{ data_interval_end: Date }>(
    `SELECT DISTINCT data_interval_end FROM batch_export_runs
     WHERE batch_export_id = $1 AND status = 'Completed' AND data_interval_end = ANY($2::timestamptz[])`,
    [batchExportId, ends],
  );
  return new Set(rows.map((row) => row.data_interval_end.getTime()));
}

/**
 * The statuses of the export's `count` most recently finished runs that either exported or failed, newest first.
 * Cancelled runs say nothing about whether the export works, so they are left out.
 */
export async function latestOutcomes(
  db: Queryable,
  batchExportId: string,
  count: number,
): Promise<Array<Pick<RunRecord, 'status' | 'latest_error'>>> {
  const { rows } = await db.query<Pick<RunRecord, 'status' | 'latest_error'>>(
    `SELECT status, latest_error FROM batch_export_runs
     WHERE batch_export_id = $1 AND status IN ('Completed', 'Failed', 'FailedRetryable') AND finished_at IS NOT NULL
     ORDER BY finished_at DESC, id DESC LIMIT $2`,
    [batchExportId, count],
  );
  return rows;
}

/** A Completed run of the export for the interval ending at `dataIntervalEnd`, by another workflow execution. */
export async function completedRunOf(
  db: Queryable,
  input: { batchExportId: string; dataIntervalEnd: string; workflowId: string; workflowRunId: string },
): Promise<RunRecord | null> {
  const { rows } = await db.query<RunRecord>(
    `SELECT * FROM batch_export_runs
     WHERE batch_export_id = $1 AND data_interval_end = $2 AND status = 'Completed'
       AND NOT (workflow_id = $3 AND workflow_run_id = $4)
     ORDER BY finished_at DESC LIMIT 1`,
    [input.batchExportId, input.dataIntervalEnd, input.workflowId, input.workflowRunId],
  );
  return rows[0] ?? null;
}

/** How far an export has exported without a gap: the end of the last of its completed intervals that follow on. */
export interface Freshness {
  batch_export_id: string;
  /** Null before the first completed run. */
  exported_until: Date | null;
}

/**
 * For each export, the end of the latest interval exported without a gap: completed intervals are walked oldest
 * first, and the walk stops at the first interval that starts after everything before it ended (a missing interval).
 */
export async function freshnessOf(db: Queryable, batchExportIds: string[]): Promise<Freshness[]> {
  const { rows } = await db.query<Freshness>(
    `SELECT e.id AS batch_export_id, f.exported_until FROM unnest($1::uuid[]) AS e(id)
     CROSS JOIN LATERAL (
       SELECT COALESCE(min(reached) FILTER (WHERE starts > reached), max(ends)) AS exported_until
       FROM (
         SELECT COALESCE(data_interval_start, data_interval_end) AS starts, data_interval_end AS ends,
                max(data_interval_end) OVER (ORDER BY data_interval_end ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reached
         FROM batch_export_runs WHERE batch_export_id = e.id AND status = 'Completed'
       ) walked
     ) f`,
    [batchExportIds],
  );
  return rows;
}

/** An active run claimed for a check of its workflow, with what its log line needs. */
export type RunToCheck = Pick<
  RunRecord,
  'id' | 'batch_export_id' | 'workflow_id' | 'data_interval_start' | 'data_interval_end'
> & { workflow_run_id: string; team_id: number };

/**
 * Claims up to `limit` active runs not checked in the last `recheckAfterSeconds`, least recently checked first, and
 * stamps them checked. SKIP LOCKED lets several workers claim at once without checking a run twice.
 */
export async function claimRunsToCheck(
  db: Queryable,
  options: { limit: number; recheckAfterSeconds: number },
): Promise<RunToCheck[]> {
  const { rows } = await db.query<RunToCheck>(
    `WITH due AS (
       SELECT id FROM batch_export_runs
       WHERE status IN ('Starting', 'Running')
         AND (workflow_checked_at IS NULL OR workflow_checked_at < now() - make_interval(secs => $2))
       ORDER BY workflow_checked_at NULLS FIRST
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE batch_export_runs r SET workflow_checked_at = now()
     FROM due, batch_exports e
     WHERE r.id = due.id AND e.id = r.batch_export_id
     RETURNING r.id, r.batch_export_id, r.workflow_id, r.workflow_run_id, r.data_interval_start, r.data_interval_end,
               e.team_id`,
    [options.limit, options.recheckAfterSeconds],
  );
  return rows;
}
