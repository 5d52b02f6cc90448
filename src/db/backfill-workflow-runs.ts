import type { Status } from '../statuses';
import type { Queryable } from './batch-exports';
import { keysetPage, keysetSql, keysetValue, type KeysetOptions, type KeysetPosition } from './keyset';

/**
 * The Temporal workflow runs of a backfill, one row each (a long backfill continues as new every so many intervals).
 * The workflow writes its own row; reconciliation closes the row of a run found terminated or timed out.
 */

/** A workflow run's status: Running, ContinuedAsNew, or the final status of the backfill it ended. */
export type WorkflowRunStatus = Extract<
  Status,
  'Running' | 'ContinuedAsNew' | 'Completed' | 'Failed' | 'Cancelled' | 'Terminated' | 'TimedOut'
>;

export interface BackfillWorkflowRunRecord {
  id: string;
  backfill_id: string;
  workflow_run_id: string;
  status: WorkflowRunStatus;
  started_at: Date;
  finished_at: Date | null;
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  runs_completed: number;
  runs_failed: number;
  runs_skipped: number;
  latest_error: string | null;
  last_updated_at: Date;
}

/** What a workflow run reports about itself: everything it knows so far, every time. */
export interface WorkflowRunReport {
  backfillId: string;
  runId: string;
  status: WorkflowRunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  dataIntervalStart: Date | null;
  dataIntervalEnd: Date | null;
  runsCompleted: number;
  runsFailed: number;
  runsSkipped: number;
  latestError: string | null;
}

/**
 * Inserts or replaces the run's row (keyed by its run id, so a retried activity writes the same) and updates the
 * backfill's count of runs and current run. A late `Running` never replaces a status the run already ended with.
 */
export async function recordWorkflowRun(db: Queryable, report: WorkflowRunReport): Promise<void> {
  await db.query(
    `INSERT INTO batch_export_backfill_workflow_runs AS w
       (backfill_id, workflow_run_id, status, started_at, finished_at, data_interval_start, data_interval_end,
        runs_completed, runs_failed, runs_skipped, latest_error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (workflow_run_id) DO UPDATE
     SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at,
         data_interval_start = COALESCE(EXCLUDED.data_interval_start, w.data_interval_start),
         data_interval_end = COALESCE(EXCLUDED.data_interval_end, w.data_interval_end),
         runs_completed = EXCLUDED.runs_completed, runs_failed = EXCLUDED.runs_failed,
         runs_skipped = EXCLUDED.runs_skipped, latest_error = EXCLUDED.latest_error, last_updated_at = now()
     WHERE w.status = 'Running' OR EXCLUDED.status <> 'Running'`,
    [
      report.backfillId,
      report.runId,
      report.status,
      report.startedAt,
      report.finishedAt,
      report.dataIntervalStart,
      report.dataIntervalEnd,
      report.runsCompleted,
      report.runsFailed,
      report.runsSkipped,
      report.latestError,
    ],
  );
  await refreshBackfill(db, report.backfillId);
}

/**
 * Gives a run that Temporal reports closed (terminated, timed out) that status, if its row is still Running or
 * missing: such a run never records its own end. A status the run recorded itself is kept.
 */
export async function closeWorkflowRun(
  db: Queryable,
  run: { backfillId: string; runId: string; status: WorkflowRunStatus; startedAt: Date; finishedAt: Date | null },
): Promise<void> {
  await db.query(
    `INSERT INTO batch_export_backfill_workflow_runs AS w
       (backfill_id, workflow_run_id, status, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (workflow_run_id) DO UPDATE SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at,
                                        last_updated_at = now()
     WHERE w.status = 'Running'`,
    [run.backfillId, run.runId, run.status, run.startedAt, run.finishedAt],
  );
  await refreshBackfill(db, run.backfillId);
}

/** Derived from the rows, so that a retry after a failure between the two statements puts it right. */
async function refreshBackfill(db: Queryable, backfillId: string): Promise<void> {
  await db.query(
    `UPDATE batch_export_backfills b
     SET workflow_runs_count = runs.n, current_workflow_run_id = runs.latest
     FROM (
       SELECT count(*)::int AS n, (array_agg(workflow_run_id ORDER BY started_at DESC, id DESC))[1] AS latest
       FROM batch_export_backfill_workflow_runs WHERE backfill_id = $1
     ) runs
     WHERE b.id = $1`,
    [backfillId],
  );
}

export const WORKFLOW_RUN_ORDERINGS = ['started_at', '-started_at'] as const;
export type WorkflowRunOrdering = (typeof WORKFLOW_RUN_ORDERINGS)[number];

export interface WorkflowRunsPageQuery {
  backfillId: string;
  ordering: WorkflowRunOrdering;
  direction: 'next' | 'previous';
  position?: KeysetPosition;
  limit: number;
}

/** One page of a backfill's workflow runs (keyset pagination); `cursor_value` is the sort value, for the next cursor. */
export async function listWorkflowRunsPage(
  db: Queryable,
  query: WorkflowRunsPageQuery,
): Promise<{ rows: Array<BackfillWorkflowRunRecord & { cursor_value: string }>; more: boolean }> {
  const keyset: KeysetOptions = {
    column: 'started_at',
    descending: query.ordering.startsWith('-'),
    direction: query.direction,
    position: query.position,
    limit: query.limit,
  };
  const page = keysetSql(keyset, 2);
  const { rows } = await db.query<BackfillWorkflowRunRecord & { cursor_value: string }>(
    `SELECT *, ${keysetValue('started_at')} AS cursor_value FROM batch_export_backfill_workflow_runs
     WHERE backfill_id = $1 AND ${page.where}
     ${page.tail}`,
    [query.backfillId, ...page.params],
  );
  return keysetPage(rows, keyset);
}
