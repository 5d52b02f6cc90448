import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { listWorkflowRunsPage } from '../../src/db/backfill-workflow-runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { useTestStack } from '../helpers/stack';

describe('a long backfill', () => {
  const stack = useTestStack();

  // A thousand workflows take a minute or two on two busy cores: more than the default test timeout.
  it('finishes 1,000 hourly intervals, continuing as new so that no workflow history grows large', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    // One event in the first hour fixes where the backfill starts; the 999 hours after it are empty.
    const event = makeEvent(teamId, '2023-01-01T00:30:00Z');
    await insertEvents(stack.db.pool, [event]);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'a thousand hours',
      // NoOp reads each interval and discards it: the test is about the backfill, not about writing files.
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });
    const end = new Date(Date.parse('2023-01-01T00:00:00Z') + 1000 * 3_600_000);
    const deps = backfillDeps(stack, { maxParallelRuns: 8, intervalsPerWorkflowRun: 250 });

    const created = await createBackfill(deps, {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2023-01-01T00:00:00Z', end_at: end.toISOString() },
    });
    const backfill = await waitForBackfill(stack, created);

    expect(backfill).toMatchObject({
      status: 'Completed',
      total_runs: 1000,
      finished_runs: 1000,
      total_records_count: 1,
    });
    const { rows } = await stack.db.pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM batch_export_runs WHERE backfill_id = $1 GROUP BY status`,
      [backfill.id],
    );
    expect(rows).toEqual([{ status: 'Completed', n: 1000 }]);

    // Walk the chain of workflow runs back from the last one.
    const histories: Array<{ runId: string; status: string; events: number }> = [];
    let runId: string | undefined = (await stack.temporal.workflow.getHandle(created.workflow_id!).describe()).runId;
    while (runId) {
      const handle: WorkflowHandle = stack.temporal.workflow.getHandle(created.workflow_id!, runId);
      const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
      histories.unshift({ runId, status: description.status.name, events: history.events?.length ?? 0 });
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      runId = started?.continuedExecutionRunId || undefined;
    }
    expect(histories.map((run) => run.status)).toEqual([
      'CONTINUED_AS_NEW',
      'CONTINUED_AS_NEW',
      'CONTINUED_AS_NEW',
      'COMPLETED',
    ]);
    // About ten events per interval; one history holding all 1,000 would be over 10,000.
    for (const run of histories) expect(run.events).toBeLessThan(3_000);

    // Each of them recorded itself: 250 intervals each, end to end.
    const page = { backfillId: backfill.id, ordering: 'started_at', direction: 'next', limit: 100 } as const;
    const recorded = (await listWorkflowRunsPage(stack.db.pool, page)).rows;
    const hour = (n: number) => new Date(Date.parse('2023-01-01T00:00:00Z') + n * 3_600_000);
    expect(
      recorded.map((run) => [run.workflow_run_id, run.status, run.data_interval_start, run.data_interval_end]),
    ).toEqual([
      [histories[0]!.runId, 'ContinuedAsNew', hour(0), hour(250)],
      [histories[1]!.runId, 'ContinuedAsNew', hour(250), hour(500)],
      [histories[2]!.runId, 'ContinuedAsNew', hour(500), hour(750)],
      [histories[3]!.runId, 'Completed', hour(750), hour(1000)],
    ]);
    expect(recorded.map((run) => run.runs_completed)).toEqual([250, 250, 250, 250]);
    expect(backfill).toMatchObject({ workflow_runs_count: 4, current_workflow_run_id: histories[3]!.runId });
  }, 600_000);
});
