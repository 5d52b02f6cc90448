import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { withTemporalDeadline } from './temporal-sync';

/** Temporal's name for an execution's status (`RUNNING`, `TERMINATED`, ...), or NOT_FOUND when it is gone. */
export type WorkflowStatusName = string;

/**
 * The status of the workflow execution chain that began with `firstRunId` (of its latest execution: a reset from
 * the Temporal UI continues the chain in a new execution). Without `firstRunId`, of the latest execution of the id.
 * Workflow ids are reused (a run retried later exports the same interval under the same id), so a later chain of
 * the same id says nothing about this one: then this chain's own execution is asked.
 */
export async function workflowStatus(
  temporal: Client,
  workflowId: string,
  firstRunId?: string,
): Promise<WorkflowStatusName> {
  try {
    const latest = await withTemporalDeadline(temporal, () => temporal.workflow.getHandle(workflowId).describe());
    const chain = latest.raw.workflowExecutionInfo?.firstRunId || latest.runId;
    if (!firstRunId || chain === firstRunId || latest.runId === firstRunId) return latest.status.name;
    const own = await withTemporalDeadline(temporal, () =>
      temporal.workflow.getHandle(workflowId, firstRunId).describe(),
    );
    return own.status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw error;
  }
}

/**
 * What a run or backfill becomes when its workflow closed without recording the outcome, by Temporal's status: the
 * workflow gave up before recording it (its bookkeeping failed for good), or is gone (past retention).
 */
export const FINAL_STATUS_OF_CLOSED_WORKFLOW: Partial<
  Record<WorkflowStatusName, 'Terminated' | 'TimedOut' | 'Cancelled' | 'Failed'>
> = {
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CANCELLED: 'Cancelled',
  FAILED: 'Failed',
  COMPLETED: 'Failed',
  NOT_FOUND: 'Failed',
};

/** How a closed workflow's status reads to a user: "terminated", "timed out", "no longer exists". */
export function describeClosedStatus(status: WorkflowStatusName): string {
  return status === 'NOT_FOUND' ? 'no longer exists' : `is ${status.toLowerCase().replace('_', ' ')}`;
}
