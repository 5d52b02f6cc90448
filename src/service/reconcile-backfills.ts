import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Pool } from 'pg';
import { closeWorkflowRun } from '../db/backfill-workflow-runs';
import { finishBackfill, type BackfillRecord } from '../db/backfills';
import { withTemporalDeadline } from './temporal-sync';
import { describeClosedStatus, FINAL_STATUS_OF_CLOSED_WORKFLOW } from './workflow-status';

/**
 * Active backfills whose workflow is in fact closed (terminated from the Temporal UI, timed out) never record a final
 * status themselves: give them the one Temporal has, so that they stop counting against the team's limit and
 * blocking overlapping backfills, and close their last workflow run's record the same way. Returns those still
 * running.
 */
export async function stillRunning(
  deps: { pool: Pool; temporal: Client },
  backfills: BackfillRecord[],
): Promise<BackfillRecord[]> {
  const running: BackfillRecord[] = [];
  for (const backfill of backfills) {
    // The latest execution of the id: a backfill continues as new, and its chain ends in the latest run.
    let description: WorkflowExecutionDescription | null = null;
    try {
      const handle = deps.temporal.workflow.getHandle(backfill.workflow_id ?? '');
      description = await withTemporalDeadline(deps.temporal, () => handle.describe());
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    const status = description?.status.name ?? 'NOT_FOUND';
    const final = FINAL_STATUS_OF_CLOSED_WORKFLOW[status];
    // A backfill whose workflow was never started (it is started after the row is committed) is not closed: the
    // reconciler starts it, or fails it saying why (startUnstartedBackfills).
    const starting = status === 'NOT_FOUND' && backfill.workflow_started_at === null;
    if (!final || starting) {
      running.push(backfill);
      continue;
    }
    await finishBackfill(deps.pool, backfill.id, {
      status: final,
      latestError: `The backfill's workflow ${describeClosedStatus(status)} in Temporal`,
    });
    // Its last workflow run could not record how it ended either.
    if (description) {
      const { runId, startTime: startedAt, closeTime: finishedAt = null } = description;
      await closeWorkflowRun(deps.pool, { backfillId: backfill.id, runId, status: final, startedAt, finishedAt });
    }
  }
  return running;
}
