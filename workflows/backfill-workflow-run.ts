import { CancellationScope, CancelledFailure, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BackfillRef } from '../activities/backfills';
import type { WorkflowRunStatus } from '../src/db/backfill-workflow-runs';

/**
 * Each Temporal run of a backfill's workflow records itself in Postgres: when it starts on its intervals and when it
 * ends, with what became of them, so that the chain of runs continued as new can be read through the API.
 *
 * Histories recorded before this hold no such commands: the patch marker tells which kind a history holds. A run
 * under way when its worker is upgraded records itself only when it ends (its row then gets everything at once).
 */
const RECORD_WORKFLOW_RUNS_PATCH = 'backfill-records-its-workflow-runs';

/**
 * Local activities, like an export run's bookkeeping (workflows/export-run.ts): a row write does not need a task of
 * its own on the server. Idempotent: the row is keyed by the run id.
 */
const bookkeeping = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // Must survive a metadata database restart.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** What this workflow run took on and what became of it so far. Counted whether or not it gets recorded. */
export interface WorkflowRunTally {
  /** ISO 8601: the start of the first interval this run took on, and the end of its last. */
  dataIntervalStart: string | null;
  dataIntervalEnd: string | null;
  runsCompleted: number;
  runsFailed: number;
  runsSkipped: number;
}

export function emptyTally(): WorkflowRunTally {
  return { dataIntervalStart: null, dataIntervalEnd: null, runsCompleted: 0, runsFailed: 0, runsSkipped: 0 };
}

/** Records this workflow run as it now is. Not cancellable: a cancelled run still records how it ended. */
export async function recordWorkflowRun(
  ref: BackfillRef,
  tally: WorkflowRunTally,
  status: WorkflowRunStatus,
  latestError: string | null = null,
): Promise<void> {
  if (!patched(RECORD_WORKFLOW_RUNS_PATCH)) return;
  const info = workflowInfo();
  await CancellationScope.nonCancellable(() =>
    bookkeeping.recordBackfillWorkflowRun({
      ...ref,
      ...tally,
      runId: info.runId,
      status,
      // This run's WorkflowExecutionStarted time, as Temporal describes the run (runStartTime is its first task's).
      startedAt: info.startTime.toISOString(),
      // The workflow's clock: the time of the current workflow task, which a replay gets back unchanged.
      finishedAt: status === 'Running' ? null : new Date().toISOString(),
      latestError,
    }),
  );
}

/**
 * Records that this run hands over to the next. A cancel request that arrived together with the last interval's
 * result would otherwise be dropped by continue-as-new, and the next run would go on exporting: it is raised instead.
 */
export async function recordHandOver(ref: BackfillRef, tally: WorkflowRunTally): Promise<void> {
  if (patched(RECORD_WORKFLOW_RUNS_PATCH) && CancellationScope.current().consideredCancelled) {
    throw new CancelledFailure('Cancelled by request');
  }
  await recordWorkflowRun(ref, tally, 'ContinuedAsNew');
}
