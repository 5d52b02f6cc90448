import type { Status } from '../statuses';
import type { Queryable } from './batch-exports';
import { keysetPage, keysetSql, keysetValue, type KeysetOptions, type KeysetPosition } from './keyset';

export interface FailedInterval {
  data_interval_start: string | null;
  data_interval_end: string;
  error: string | null;
}

export interface BackfillRecord {
  id: string;
  team_id: number;
  batch_export_id: string;
  start_at: Date | null;
  end_at: Date | null;
  status: Status;
  workflow_id: string | null;
  total_records_count: number | null;
  adjusted_start_at: Date | null;
  created_at: Date;
  finished_at: Date | null;
  last_updated_at: Date;
  total_runs: number | null;
  skipped_runs: number;
  failed_intervals: FailedInterval[];
  latest_error: string | null;
  /** skipped_runs plus the backfill's own runs that reached a final status. */
  finished_runs: number;
  /** Temporal workflow runs so far (it continues as new every so many intervals); see backfill-workflow-runs.ts. */
  workflow_runs_count: number;
  /** Temporal's run id of the latest of them. */
  current_workflow_run_id: string | null;
  /** Whether its intervals that already completed are exported again (false = `skip_exported`). */
  reexport_completed: boolean;
  /** When its workflow was started; null while reserved but not started (see startUnstartedBackfills). */
  workflow_started_at: Date | null;
}

// finished_runs is computed, not stored: runs finish in their own workflows, and counting them here keeps progress
// live without the backfill workflow writing after every run.
const SELECT_BACKFILL = `
  SELECT b.*, b.skipped_runs + (
           SELECT count(*)::int FROM batch_export_runs r
           WHERE r.backfill_id = b.id AND r.status NOT IN ('Starting', 'Running')
         ) AS finished_runs
  FROM batch_export_backfills b`;

export interface NewBackfill {
  teamId: number;
  batchExportId: string;
  startAt: Date | null;
  endAt: Date;
  workflowId: string;
  reexportCompleted?: boolean;
}

export async function insertBackfill(db: Queryable, input: NewBackfill): Promise<BackfillRecord> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO batch_export_backfills
       (team_id, batch_export_id, start_at, end_at, status, workflow_id, reexport_completed)
     VALUES ($1, $2, $3, $4, 'Starting', $5, $6) RETURNING id`,
    [input.teamId, input.batchExportId, input.startAt, input.endAt, input.workflowId, input.reexportCompleted ?? false],
  );
  return (await getBackfill(db, rows[0]!.id))!;
}

/** A backfill, or null. With `scope`, only one of that team's (and export's). */
export async function getBackfill(
  db: Queryable,
  id: string,
  scope: { teamId?: number; batchExportId?: string } = {},
): Promise<BackfillRecord | null> {
  const { rows } = await db.query<BackfillRecord>(
    `${SELECT_BACKFILL}
     WHERE b.id = $1 AND ($2::bigint IS NULL OR b.team_id = $2) AND ($3::uuid IS NULL OR b.batch_export_id = $3)`,
    [id, scope.teamId ?? null, scope.batchExportId ?? null],
  );
  return rows[0] ?? null;
}

export const BACKFILL_ORDERINGS = ['-created_at', 'created_at'] as const;
export type BackfillOrdering = (typeof BACKFILL_ORDERINGS)[number];

/** One page of an export's backfills (keyset pagination); `cursor_value` is the sort value, for the next cursor. */
export async function listBackfillsPage(
  db: Queryable,
  query: {
    batchExportId: string;
    ordering: BackfillOrdering;
    direction: 'next' | 'previous';
    position?: KeysetPosition;
    limit: number;
  },
): Promise<{ rows: Array<BackfillRecord & { cursor_value: string }>; more: boolean }> {
  const keyset: KeysetOptions = {
    column: 'created_at',
    descending: query.ordering.startsWith('-'),
    direction: query.direction,
    position: query.position,
    limit: query.limit,
  };
  const page = keysetSql(keyset, 2);
  const { rows } = await db.query<BackfillRecord & { cursor_value: string }>(
    `SELECT * FROM (${SELECT_BACKFILL}) b, LATERAL (SELECT ${keysetValue('b.created_at')} AS cursor_value) c
     WHERE batch_export_id = $1 AND ${page.where}
     ${page.tail}`,
    [query.batchExportId, ...page.params],
  );
  return keysetPage(rows, keyset);
}

export async function countActiveBackfills(db: Queryable, teamId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM batch_export_backfills WHERE team_id = $1 AND status IN ('Starting', 'Running')`,
    [teamId],
  );
  return rows[0]!.n;
}

export async function activeBackfillsOfTeam(db: Queryable, teamId: number): Promise<BackfillRecord[]> {
  const { rows } = await db.query<BackfillRecord>(
    `${SELECT_BACKFILL} WHERE b.team_id = $1 AND b.status IN ('Starting', 'Running') ORDER BY b.created_at`,
    [teamId],
  );
  return rows;
}

/** Active backfills of the export; with a range, only those overlapping [startAt, endAt) (null start = unbounded). */
export async function activeBackfills(
  db: Queryable,
  batchExportId: string,
  range?: { startAt: Date | null; endAt: Date },
): Promise<BackfillRecord[]> {
  const { rows } = await db.query<BackfillRecord>(
    `${SELECT_BACKFILL}
     WHERE b.batch_export_id = $1 AND b.status IN ('Starting', 'Running')
       AND ($2::boolean OR ((b.start_at IS NULL OR b.start_at < $4) AND ($3::timestamptz IS NULL OR $3 < b.end_at)))
     ORDER BY b.created_at`,
    [batchExportId, range === undefined, range?.startAt ?? null, range?.endAt ?? null],
  );
  return rows;
}

/** Only a backfill that is still active moves on: a cancelled one stays cancelled whatever its workflow does. */
export async function markBackfill(
  db: Queryable,
  id: string,
  update: {
    status: 'Starting' | 'Running';
    adjustedStartAt?: Date | null;
    totalRecordsCount?: number | null;
    totalRuns?: number | null;
  },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE batch_export_backfills
     SET status = $2, adjusted_start_at = COALESCE($3, adjusted_start_at),
         total_records_count = COALESCE($4, total_records_count), total_runs = COALESCE($5, total_runs),
         last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running')`,
    [id, update.status, update.adjustedStartAt ?? null, update.totalRecordsCount ?? null, update.totalRuns ?? null],
  );
  return rowCount === 1;
}

/** An absolute count, so that a retried activity records the same number. */
export async function recordSkippedRuns(db: Queryable, id: string, skippedRuns: number): Promise<void> {
  await db.query(
    `UPDATE batch_export_backfills SET skipped_runs = $2, last_updated_at = now()
     WHERE id = $1 AND status IN ('Starting', 'Running')`,
    [id, skippedRuns],
  );
}

export type BackfillFinalStatus = 'Completed' | 'Failed' | 'Cancelled' | 'Terminated' | 'TimedOut';

/**
 * Records the final status with what the backfill's runs actually exported and which of them failed. A backfill
 * already in a final status keeps it. Returns the row, or null when it was already final (or does not exist).
 */
export async function finishBackfill(
  db: Queryable,
  id: string,
  outcome: { status: BackfillFinalStatus; latestError?: string | null },
): Promise<BackfillRecord | null> {
  const { rowCount } = await db.query(
    `WITH own_runs AS (
       SELECT status, records_completed, data_interval_start, data_interval_end, latest_error
       FROM batch_export_runs WHERE backfill_id = $1
     )
     UPDATE batch_export_backfills
     SET status = $2, latest_error = $3, finished_at = now(), last_updated_at = now(),
         total_records_count = (SELECT COALESCE(sum(records_completed), 0) FROM own_runs WHERE status = 'Completed'),
         failed_intervals = (
           SELECT COALESCE(jsonb_agg(jsonb_build_object(
                    'data_interval_start', data_interval_start, 'data_interval_end', data_interval_end,
                    'error', latest_error) ORDER BY data_interval_end), '[]')
           FROM own_runs
           -- A run cancelled on its own left its interval unexported; when the whole backfill is cancelled, that is no news.
           WHERE status IN ('Failed', 'FailedRetryable') OR (status = 'Cancelled' AND $2 = 'Failed'))
     WHERE id = $1 AND status IN ('Starting', 'Running')`,
    [id, outcome.status, outcome.latestError ?? null],
  );
  return rowCount === 1 ? getBackfill(db, id) : null;
}

/** Removes a backfill whose workflow could not be started: it never ran. */
export async function deleteBackfill(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM batch_export_backfills WHERE id = $1', [id]);
}

/** Records that the backfill's workflow was started (once: a later start of the same workflow changes nothing). */
export async function markBackfillWorkflowStarted(db: Queryable, id: string): Promise<void> {
  await db.query(
    'UPDATE batch_export_backfills SET workflow_started_at = now() WHERE id = $1 AND workflow_started_at IS NULL',
    [id],
  );
}

/** Backfills still Starting whose workflow was never started, reserved more than `olderThanMs` ago, oldest first. */
export async function listUnstartedBackfills(
  db: Queryable,
  options: { olderThanMs: number; limit: number },
): Promise<BackfillRecord[]> {
  const { rows } = await db.query<BackfillRecord>(
    `${SELECT_BACKFILL}
     WHERE b.workflow_started_at IS NULL AND b.status = 'Starting'
       AND b.created_at < now() - make_interval(secs => $1::double precision / 1000)
     ORDER BY b.created_at LIMIT $2`,
    [options.olderThanMs, options.limit],
  );
  return rows;
}

/** Active backfills of every team, least recently updated first: what the reconciler checks. */
export async function listActiveBackfills(db: Queryable, limit: number): Promise<BackfillRecord[]> {
  const { rows } = await db.query<BackfillRecord>(
    `${SELECT_BACKFILL} WHERE b.status IN ('Starting', 'Running') ORDER BY b.last_updated_at LIMIT $1`,
    [limit],
  );
  return rows;
}
