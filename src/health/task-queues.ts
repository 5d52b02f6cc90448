import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';

export interface TaskQueueHealth {
  /** Seconds since a run last completed; null before any. */
  last_completed_run_age_seconds: number | null;
  /** Workers that polled the queue for workflow tasks lately (Temporal's view); null when Temporal did not answer. */
  workflow_pollers: number | null;
}

/**
 * How the deployment's task queue is doing. Every export of a deployment runs on its TASK_QUEUE, so the newest
 * completed run of all is that queue's. A queue with exports due and no run completing for longer than an interval,
 * or without pollers, has no worker doing the work.
 */
export async function taskQueueHealth(
  deps: { pool: Pool; temporal: Client },
  taskQueue: string,
  now: Date,
  deadlineMs: number,
): Promise<TaskQueueHealth> {
  const [{ rows }, pollers] = await Promise.all([
    deps.pool.query<{ finished_at: Date | null }>(
      `SELECT max(finished_at) AS finished_at FROM batch_export_runs WHERE status = 'Completed'`,
    ),
    deps.temporal
      .withDeadline(Date.now() + deadlineMs, () =>
        deps.temporal.workflowService.describeTaskQueue({
          namespace: deps.temporal.options.namespace,
          taskQueue: { name: taskQueue },
        }),
      )
      .then((description) => description.pollers?.length ?? 0)
      .catch(() => null),
  ]);
  const finished = rows[0]?.finished_at ?? null;
  return {
    last_completed_run_age_seconds: finished
      ? Math.max(0, Math.round((now.getTime() - finished.getTime()) / 1000))
      : null,
    workflow_pollers: pollers,
  };
}
