import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { finishBackfill, type BackfillRecord } from '../db/backfills';
import { describeClosedStatus, FINAL_STATUS_OF_CLOSED_WORKFLOW, workflowStatus } from '../temporal/workflow-status';

/** Longer than starting a workflow can take (the Temporal deadline is seconds). */
const WORKFLOW_START_GRACE_MS = 60_000;

/**
 * Active backfills whose workflow is in fact closed (terminated from the Temporal UI, timed out) never record a final
 * status themselves: give them the one Temporal has, so that they stop counting against the team's limit and
 * blocking overlapping backfills. Returns those still running.
 */
export async function stillRunning(
  deps: { pool: Pool; temporal: Client },
  backfills: BackfillRecord[],
): Promise<BackfillRecord[]> {
  const running: BackfillRecord[] = [];
  for (const backfill of backfills) {
    const status = await workflowStatus(deps.temporal, backfill.workflow_id ?? '');
    const final = FINAL_STATUS_OF_CLOSED_WORKFLOW[status];
    // A backfill just created may not have its workflow yet (it is started after the row is committed).
    const starting = status === 'NOT_FOUND' && Date.now() - backfill.created_at.getTime() < WORKFLOW_START_GRACE_MS;
    if (!final || starting) {
      running.push(backfill);
      continue;
    }
    await finishBackfill(deps.pool, backfill.id, {
      status: final,
      latestError: `The backfill's workflow ${describeClosedStatus(status)} in Temporal`,
    });
  }
  return running;
}
