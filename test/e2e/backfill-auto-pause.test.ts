import { describe, expect, it } from 'vitest';
import { AUTO_PAUSE_ACTOR } from '../../src/service/auto-pause';
import { listWorkflowRunsPage } from '../../src/db/backfill-workflow-runs';
import { getBatchExport } from '../../src/db/batch-exports';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, s3Destination, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { useTestStack } from '../helpers/stack';

describe('an export that keeps failing', () => {
  const stack = useTestStack({ env: { AUTO_PAUSE_AFTER_FAILED_RUNS: '3' } });

  it('pauses itself after 3 failed runs in a row, cancels its backfill and logs why', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const hours = Array.from({ length: 10 }, (_, hour) => `2024-08-01T${String(hour).padStart(2, '0')}:15:00Z`);
    await insertEvents(
      stack.db.pool,
      hours.map((at) => makeEvent(teamId, at)),
    );
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'bucket is gone',
      destination: s3Destination(stack, 'no-such-bucket-for-auto-pause'),
    });

    const created = await createBackfill(backfillDeps(stack, { maxParallelRuns: 1 }), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-08-01T00:00:00Z', end_at: '2024-08-01T10:00:00Z' },
    });
    const backfill = await waitForBackfill(stack, created);

    expect(backfill.status).toBe('Cancelled');
    expect(backfill.latest_error).toBe('Cancelled: the batch export was paused after 3 failed runs in a row');
    const runs = await listRuns(stack.db.pool, batchExport.id);
    expect(runs.filter((run) => run.status === 'Failed')).toHaveLength(3);
    expect(runs.length).toBeLessThan(10);
    expect(await getBatchExport(stack.db.pool, batchExport.id)).toMatchObject({
      paused: true,
      paused_by: AUTO_PAUSE_ACTOR,
      last_paused_at: expect.any(Date),
    });
    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();
    expect(schedule.state).toMatchObject({ paused: true, note: `Paused by ${AUTO_PAUSE_ACTOR}` });
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries
       WHERE batch_export_id = $1 AND run_id IS NULL AND backfill_id IS NULL AND level = 'ERROR'`,
      [batchExport.id],
    );
    expect(logs).toHaveLength(1);
    expect(logs[0]!.message).toContain('Paused after 3 failed runs in a row; the last failed with:');
    expect(logs[0]!.message).toContain('no-such-bucket-for-auto-pause');
  });

  it('does not pause an export whose failures are interrupted by a success', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-09-01T00:15:00Z')]);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'fails now and then',
      destination: s3Destination(stack, 'no-such-bucket-either'),
    });
    // Two failed runs, then a completed one recorded by hand (as if the bucket came back), then two more failures.
    const backfillOf = async (start: string, end: string) =>
      waitForBackfill(
        stack,
        await createBackfill(backfillDeps(stack, { maxParallelRuns: 1 }), {
          teamId,
          batchExportId: batchExport.id,
          body: { start_at: start, end_at: end },
        }),
      );
    await backfillOf('2024-09-01T00:00:00Z', '2024-09-01T02:00:00Z');
    await stack.db.pool.query(
      `INSERT INTO batch_export_runs (batch_export_id, status, data_interval_start, data_interval_end, workflow_id,
                                      workflow_run_id, records_completed, finished_at)
       VALUES ($1, 'Completed', '2024-09-01T02:00:00Z', '2024-09-01T03:00:00Z', 'by-hand', 'by-hand', 0, now())`,
      [batchExport.id],
    );
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-09-01T03:15:00Z')]);
    const last = await backfillOf('2024-09-01T03:00:00Z', '2024-09-01T05:00:00Z');

    expect(last).toMatchObject({
      status: 'Failed',
      latest_error: '2 intervals were not exported (failed or cancelled); see failed_intervals',
      total_records_count: 0,
    });
    expect(last.failed_intervals.map((interval) => interval.data_interval_end.slice(0, 19))).toEqual([
      '2024-09-01T04:00:00',
      '2024-09-01T05:00:00',
    ]);
    expect(last.failed_intervals[0]!.error).toContain('no-such-bucket-either');
    const page = { backfillId: last.id, ordering: 'started_at', direction: 'next', limit: 10 } as const;
    expect((await listWorkflowRunsPage(stack.db.pool, page)).rows).toMatchObject([
      { status: 'Failed', runs_completed: 0, runs_failed: 2, runs_skipped: 0, latest_error: last.latest_error },
    ]);
    expect((await listRuns(stack.db.pool, batchExport.id)).filter((run) => run.status === 'Failed')).toHaveLength(4);
    expect((await getBatchExport(stack.db.pool, batchExport.id))!.paused).toBe(false);
  });
});
