import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { intervalInput } from '../helpers/s3-exports';
import { startTestStack, type TestStack } from '../helpers/stack';

/** When the server started and completed the workflow's insert activity (its last attempt). */
async function insertActivitySpan(handle: WorkflowHandle): Promise<{ started: number; completed: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const started = events.find((event) => event.activityTaskStartedEventAttributes);
  const completed = events.find((event) => event.activityTaskCompletedEventAttributes);
  if (!started || !completed) throw new Error(`${handle.workflowId} has no completed activity`);
  return { started: tsToMs(started.eventTime), completed: tsToMs(completed.eventTime) };
}

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/**
 * Starts two NoOp exports while the events table is locked (their reads wait), waits until Temporal scheduled both
 * inserts and the worker started `started` of them, then lets them run. Returns the two insert activities' spans,
 * in the order they started.
 */
async function twoExportsAtOnce(stack: TestStack, started: number) {
  const { teamId } = await createTeam(stack.db.pool);
  await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-09-01T10:10:00Z')]);
  const lock = await stack.db.pool.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    const handles = await Promise.all(
      ['first', 'second'].map(async (name) => {
        const batchExport = await createBatchExport(stack.services, teamId, {
          name,
          destination: { type: 'NoOp', config: {} },
          paused: true,
        });
        return stack.temporal.workflow.start('noop-export', {
          taskQueue: stack.config.temporal.taskQueue,
          workflowId: `${batchExport.id}-capacity`,
          args: [intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z')],
        });
      }),
    );
    const pendingStates = async () =>
      (await Promise.all(handles.map((handle) => handle.describe()))).map(
        (description) => description.raw.pendingActivities?.[0]?.state ?? null,
      );
    // From here on, a free slot would start the other insert at once.
    for (let i = 0; i < 600; i++) {
      const states = await pendingStates();
      if (states.every((state) => state !== null) && states.filter((state) => state === STARTED).length >= started)
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await lock.query('ROLLBACK');
    await Promise.all(handles.map((handle) => handle.result()));
    const spans = await Promise.all(handles.map(insertActivitySpan));
    return spans.sort((a, b) => a.started - b.started);
  } finally {
    lock.release();
  }
}

describe('worker capacity', () => {
  let stack: TestStack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('runs exports one after the other with WORKER_MAX_CONCURRENT_ACTIVITIES=1', async () => {
    stack = await startTestStack({ env: { WORKER_MAX_CONCURRENT_ACTIVITIES: '1' } });

    const [first, second] = await twoExportsAtOnce(stack, 1);

    // The second insert was started only once the first had completed.
    expect(second!.started).toBeGreaterThanOrEqual(first!.completed);
  }, 120_000);

  it('runs them side by side with two slots', async () => {
    stack = await startTestStack({ env: { WORKER_MAX_CONCURRENT_ACTIVITIES: '2' } });

    const [first, second] = await twoExportsAtOnce(stack, 2);

    expect(second!.started).toBeLessThan(first!.completed);
  }, 120_000);
});
