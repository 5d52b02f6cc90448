import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { startUnstartedBackfills } from './backfills';
import { stillRunning } from './reconcile-backfills';
import { listActiveBackfills } from '../db/backfills';
import { writeLog } from '../db/logs';
import { claimRunsToCheck, finishRun, type FinishRun, type RunToCheck } from '../db/runs';
import { describeClosedStatus, FINAL_STATUS_OF_CLOSED_WORKFLOW, workflowStatus } from './workflow-status';

export interface ReconcilerDependencies {
  pool: Pool;
  temporal: Client;
  /** What starting a backfill's workflow needs (its task queue, parallelism). */
  config: Pick<Config, 'temporal' | 'backfills'>;
  logger?: { warn(fields: object, message: string): void };
}

export interface ReconcilerOptions {
  /** Time between passes; an active run is checked again once this long has passed since its last check. */
  intervalMs: number;
  /** Runs (and backfills) one pass checks at most: bounds the describe calls a pass makes to Temporal. */
  batchSize?: number;
  onError?: (error: unknown) => void;
}

/** A pass asks Temporal about this many runs at most (one or two describe calls each). */
const DEFAULT_BATCH_SIZE = 200;

/**
 * Gives active runs whose workflow is closed in Temporal (terminated from the UI or CLI, timed out, gone) the status
 * Temporal has, with a log line saying so: such a workflow never records its run's outcome itself. Returns how many
 * runs it finished.
 */
export async function reconcileRuns(
  deps: ReconcilerDependencies,
  options: { limit: number; recheckAfterSeconds: number },
): Promise<number> {
  const runs = await claimRunsToCheck(deps.pool, options);
  let finished = 0;
  for (const run of runs) {
    const status = await workflowStatus(deps.temporal, run.workflow_id, run.workflow_run_id);
    const final = FINAL_STATUS_OF_CLOSED_WORKFLOW[status];
    if (final && (await finishClosedRun(deps.pool, run, final, status))) finished++;
  }
  return finished;
}

async function finishClosedRun(
  pool: Pool,
  run: RunToCheck,
  status: FinishRun['status'],
  workflowStatusName: string,
): Promise<boolean> {
  const latestError = `The run's workflow ${describeClosedStatus(workflowStatusName)} in Temporal; the run did not record an outcome`;
  const finished = await finishRun(pool, { runId: run.id, status, latestError });
  if (!finished) return false;
  const interval = `${run.data_interval_start?.toISOString() ?? 'START'} to ${run.data_interval_end.toISOString()}`;
  await writeLog(pool, {
    teamId: run.team_id,
    batchExportId: run.batch_export_id,
    runId: run.id,
    level: 'ERROR',
    message: `Run for ${interval} ended as ${status}: ${latestError}`,
  });
  return true;
}

/**
 * One pass over runs and backfills: closed ones get their status, and backfills committed but never started (a
 * crash between the commit and the start) are started once older than `startGraceMs`.
 */
export async function reconcileOnce(
  deps: ReconcilerDependencies,
  options: ReconcilerOptions & { startGraceMs?: number },
): Promise<void> {
  const limit = options.batchSize ?? DEFAULT_BATCH_SIZE;
  await reconcileRuns(deps, { limit, recheckAfterSeconds: options.intervalMs / 1000 });
  await startUnstartedBackfills(deps, { limit, graceMs: options.startGraceMs });
  await stillRunning(deps, await listActiveBackfills(deps.pool, limit));
}

/**
 * Runs `reconcileOnce` every `intervalMs` until stopped, on every worker: runs are claimed with SKIP LOCKED, so
 * workers share the checks instead of repeating them. A run closed in Temporal shows its status within about two
 * intervals (more when more runs are active than a pass checks). A failed pass (Temporal or Postgres away) is
 * reported and the next one tries again.
 */
export function startReconciler(deps: ReconcilerDependencies, options: ReconcilerOptions): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> = Promise.resolve();
  const tick = () => {
    pass = reconcileOnce(deps, options)
      .catch((error: unknown) => {
        options.onError?.(error);
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await pass;
  };
}
