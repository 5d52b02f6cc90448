import type { S3Client } from '@aws-sdk/client-s3';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listWorkflowRunsPage } from '../../src/db/backfill-workflow-runs';
import { getBackfill } from '../../src/db/backfills';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { cancelBackfill, createBackfill, getBackfillOf } from '../../src/service/backfills';
import { backfillDeps, eventually, exportedRows, s3Destination, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { createBucket, testS3Client } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';

describe('backfills', () => {
  const stack = useTestStack();
  let s3: S3Client;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
  });

  afterAll(async () => {
    s3?.destroy();
  });

  async function hourlyExport(teamId: number, name: string) {
    const bucket = await createBucket(s3);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name,
      destination: s3Destination(stack, bucket),
      interval: 'hour',
      paused: true,
    });
    return { bucket, batchExport };
  }

  async function workflowRuns(backfillId: string) {
    const page = { backfillId, ordering: 'started_at', direction: 'next', limit: 100 } as const;
    return (await listWorkflowRunsPage(stack.db.pool, page)).rows;
  }

  /** `perHour` events in each hour from `start`, at minutes spread over the hour. */
  function hourlyEvents(teamId: number, start: string, hours: number, perHour: number): TestEvent[] {
    const events: TestEvent[] = [];
    for (let hour = 0; hour < hours; hour++) {
      for (let i = 0; i < perHour; i++) {
        const at = new Date(Date.parse(start) + hour * 3_600_000 + Math.floor((i * 3_600_000) / perHour) + 1);
        events.push(makeEvent(teamId, at.toISOString()));
      }
    }
    return events;
  }

  it('exports every source row of a 48-hour hourly backfill exactly once and records 48 Completed runs', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const inside = hourlyEvents(teamId, '2024-02-01T00:00:00Z', 48, 3);
    const outside = [makeEvent(teamId, '2024-01-31T23:59:59.999Z'), makeEvent(teamId, '2024-02-03T00:00:00Z')];
    await insertEvents(stack.db.pool, [...inside, ...outside]);
    const { bucket, batchExport } = await hourlyExport(teamId, '48 hours');

    const created = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-02-01T00:00:00Z', end_at: '2024-02-03T00:00:00Z' },
    });
    expect(created.status).toBe('Starting');
    expect(created.workflow_id).toBe(`${batchExport.id}-Backfill-2024-02-01T00:00:00Z-2024-02-03T00:00:00Z`);
    const backfill = await waitForBackfill(stack, created);

    expect(backfill).toMatchObject({
      status: 'Completed',
      total_runs: 48,
      finished_runs: 48,
      total_records_count: inside.length,
      adjusted_start_at: new Date('2024-02-01T00:00:00Z'),
      latest_error: null,
      failed_intervals: [],
    });
    expect(backfill.finished_at).toBeInstanceOf(Date);
    const rows = await exportedRows(s3, bucket);
    expect(rows.map((row) => row.uuid).sort()).toEqual(inside.map((event) => event.uuid).sort());
    const runs = await listRuns(stack.db.pool, batchExport.id);
    expect(runs).toHaveLength(48);
    expect(new Set(runs.map((run) => run.status))).toEqual(new Set(['Completed']));
    expect(runs.every((run) => run.backfill_id === backfill.id && run.records_completed === 3)).toBe(true);
    expect(runs.map((run) => run.workflow_id)).toContain(`${batchExport.id}-2024-02-02T13:00:00Z`);
    // The workflow is deterministic: its history replays on the same code without a mismatch.
    const history = await stack.temporal.workflow.getHandle(created.workflow_id!).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE backfill_id = $1 ORDER BY timestamp`,
      [backfill.id],
    );
    expect(logs.map((log) => log.message)).toEqual([
      'Backfill running: 48 intervals from 2024-02-01T00:00:00.000Z (the first with data) to 2024-02-03T00:00:00.000Z, about 144 records',
      'Backfill from 2024-02-01T00:00:00.000Z to 2024-02-03T00:00:00.000Z completed: 144 records exported',
    ]);
  });

  it('starts from the first interval with data when start_at is left out', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const events = [makeEvent(teamId, '2024-03-05T10:20:00Z'), makeEvent(teamId, '2024-03-05T12:59:00Z')];
    await insertEvents(stack.db.pool, events);
    const { bucket, batchExport } = await hourlyExport(teamId, 'from the earliest data');

    const created = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId: batchExport.id,
      body: { end_at: '2024-03-05T14:00:00Z' },
    });
    expect(created.workflow_id).toBe(`${batchExport.id}-Backfill-START-2024-03-05T14:00:00Z`);
    const backfill = await waitForBackfill(stack, created);

    expect(backfill).toMatchObject({
      status: 'Completed',
      start_at: null,
      adjusted_start_at: new Date('2024-03-05T10:00:00Z'),
      total_runs: 4,
      total_records_count: 2,
    });
    expect((await exportedRows(s3, bucket)).map((row) => row.uuid).sort()).toEqual(events.map((e) => e.uuid).sort());
  });

  it('completes at once, running nothing, when the range holds no data', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const { batchExport } = await hourlyExport(teamId, 'no data');

    const backfill = await waitForBackfill(
      stack,
      await createBackfill(backfillDeps(stack), {
        teamId,
        batchExportId: batchExport.id,
        body: { start_at: '2023-01-01T00:00:00Z', end_at: '2023-02-01T00:00:00Z' },
      }),
    );

    expect(backfill).toMatchObject({ status: 'Completed', total_runs: 0, total_records_count: 0 });
    expect(await listRuns(stack.db.pool, batchExport.id)).toHaveLength(0);
  });

  it('exports nothing twice when the schedule then fires for the same and the following intervals', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const events = hourlyEvents(teamId, '2024-06-10T00:00:00Z', 6, 2);
    await insertEvents(stack.db.pool, events);
    const { bucket, batchExport } = await hourlyExport(teamId, 'backfill then schedule');
    await waitForBackfill(
      stack,
      await createBackfill(backfillDeps(stack), {
        teamId,
        batchExportId: batchExport.id,
        body: { start_at: '2024-06-10T00:00:00Z', end_at: '2024-06-10T04:00:00Z' },
      }),
    );

    // The schedule fires at 03:00, 04:00, 05:00 and 06:00: two intervals the backfill exported, then two new ones.
    await stack.temporal.schedule.getHandle(batchExport.id).backfill({
      start: new Date('2024-06-10T02:30:00Z'),
      end: new Date('2024-06-10T06:30:00Z'),
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
    const runs = await eventually(
      () => listRuns(stack.db.pool, batchExport.id),
      (all) => all.filter((run) => run.status === 'Completed' && run.backfill_id === null).length === 2,
    );

    expect(runs.map((run) => run.data_interval_end.toISOString().slice(11, 16)).sort()).toEqual([
      '01:00',
      '02:00',
      '03:00',
      '04:00',
      '05:00',
      '06:00',
    ]);
    const rows = await exportedRows(s3, bucket);
    expect(rows).toHaveLength(events.length);
    expect(new Set(rows.map((row) => row.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
    // The schedule did start its own workflows for 03:00 and 04:00; they found the intervals exported.
    const scheduled = await stack.temporal.workflow.getHandle(`${batchExport.id}-2024-06-10T04:00:00Z`).describe();
    expect(scheduled.status.name).toBe('COMPLETED');
    expect(scheduled.searchAttributes.TemporalScheduledById).toEqual([batchExport.id]);
  });

  it('skips the intervals an earlier backfill already exported when asked to (skip_exported)', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const events = hourlyEvents(teamId, '2024-07-10T00:00:00Z', 5, 2);
    await insertEvents(stack.db.pool, events);
    const { bucket, batchExport } = await hourlyExport(teamId, 'twice over');
    const backfillTo = async (end: string, skipExported: boolean) =>
      waitForBackfill(
        stack,
        await createBackfill(backfillDeps(stack), {
          teamId,
          batchExportId: batchExport.id,
          body: { start_at: '2024-07-10T00:00:00Z', end_at: end, skip_exported: skipExported },
        }),
      );
    await backfillTo('2024-07-10T03:00:00Z', false);

    const second = await backfillTo('2024-07-10T05:00:00Z', true);

    expect(second).toMatchObject({ status: 'Completed', total_runs: 5, skipped_runs: 3, finished_runs: 5 });
    expect(await listRuns(stack.db.pool, batchExport.id)).toHaveLength(5);
    expect((await exportedRows(s3, bucket)).map((row) => row.uuid).sort()).toEqual(events.map((e) => e.uuid).sort());
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE backfill_id = $1 AND message LIKE '%earlier runs%'`,
      [second.id],
    );
    expect(logs.map((log) => log.message)).toEqual([
      '3 intervals were already exported by earlier runs: not exported again',
    ]);
  });

  it('leaves an interval to the run already exporting it, and counts it as done', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, hourlyEvents(teamId, '2024-07-01T00:00:00Z', 3, 1));
    const { batchExport } = await hourlyExport(teamId, 'interval already running');
    // A run of 02:00 that is in progress (no worker polls its queue, so it stays so), as a scheduled run would be.
    const running = await stack.temporal.workflow.start('s3-export', {
      taskQueue: `${stack.config.temporal.taskQueue}-elsewhere`,
      workflowId: `${batchExport.id}-2024-07-01T02:00:00Z`,
      args: [{ batchExportId: batchExport.id, teamId, interval: 'hour', timezone: 'UTC' }],
    });

    const backfill = await waitForBackfill(
      stack,
      await createBackfill(backfillDeps(stack), {
        teamId,
        batchExportId: batchExport.id,
        body: { start_at: '2024-07-01T00:00:00Z', end_at: '2024-07-01T03:00:00Z' },
      }),
    );
    await running.terminate('test cleanup');

    expect(backfill).toMatchObject({ status: 'Completed', total_runs: 3, skipped_runs: 1, finished_runs: 3 });
    const runs = await listRuns(stack.db.pool, batchExport.id);
    expect(runs.map((run) => run.data_interval_end.toISOString())).toEqual([
      '2024-07-01T03:00:00.000Z',
      '2024-07-01T01:00:00.000Z',
    ]);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE backfill_id = $1 AND message LIKE 'The interval ending%'`,
      [backfill.id],
    );
    expect(logs.map((log) => log.message)).toEqual([
      'The interval ending 2024-07-01T02:00:00.000Z is being (or was) exported by another run; the backfill did not start it again',
    ]);
  });

  it('refuses a backfill that overlaps an active one, and accepts one next to it', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const { batchExport } = await hourlyExport(teamId, 'overlap');
    // No worker polls this queue: the first backfill stays active for as long as the test needs.
    const idle = backfillDeps(stack);
    idle.config.temporal = { ...idle.config.temporal, taskQueue: `${stack.config.temporal.taskQueue}-idle` };
    const first = await createBackfill(idle, {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-02T00:00:00Z' },
    });

    const refused = createBackfill(idle, {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-01-01T12:00:00Z', end_at: '2024-01-03T00:00:00Z' },
    });
    await expect(refused).rejects.toMatchObject({ name: 'ValidationError', attr: 'start_at' });
    await expect(refused).rejects.toThrow(`already Starting (id ${first.id}) and overlaps this range`);
    const adjacent = await createBackfill(idle, {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-01-02T00:00:00Z', end_at: '2024-01-03T00:00:00Z' },
    });
    expect(adjacent.status).toBe('Starting');

    for (const backfill of [first, adjacent]) {
      const cancelled = await cancelBackfill(idle, { teamId, batchExportId: batchExport.id, backfillId: backfill.id });
      expect(cancelled.status).toBe('Cancelled');
      await stack.temporal.workflow.getHandle(backfill.workflow_id!).terminate('test cleanup');
    }
  });

  it('lets go of a backfill whose workflow was terminated in Temporal, recording Terminated', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const { batchExport } = await hourlyExport(teamId, 'terminated');
    const idle = backfillDeps(stack);
    idle.config.temporal = { ...idle.config.temporal, taskQueue: `${stack.config.temporal.taskQueue}-idle` };
    const body = { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-02T00:00:00Z' };
    const orphan = await createBackfill(idle, { teamId, batchExportId: batchExport.id, body });
    // An operator terminates it from the Temporal UI a while later: its row is never told.
    await stack.temporal.workflow.getHandle(orphan.workflow_id!).terminate('by hand');
    const terminated = await stack.temporal.workflow.getHandle(orphan.workflow_id!).describe();
    await stack.db.pool.query(
      `UPDATE batch_export_backfills SET created_at = now() - interval '5 minutes' WHERE id = $1`,
      [orphan.id],
    );

    const retrieved = await getBackfillOf(idle, { teamId, batchExportId: batchExport.id, backfillId: orphan.id });
    const next = await createBackfill(idle, { teamId, batchExportId: batchExport.id, body });

    expect(retrieved.status).toBe('Terminated');
    expect(next.status).toBe('Starting');
    expect(await getBackfill(stack.db.pool, orphan.id)).toMatchObject({
      status: 'Terminated',
      latest_error: "The backfill's workflow is terminated in Temporal",
      finished_at: expect.any(Date),
      workflow_runs_count: 1,
      current_workflow_run_id: terminated.runId,
    });
    // It never ran, so never recorded its workflow run: reconciliation did, as Temporal describes it.
    expect(await workflowRuns(orphan.id)).toMatchObject([
      {
        workflow_run_id: terminated.runId,
        status: 'Terminated',
        started_at: terminated.startTime,
        finished_at: terminated.closeTime,
      },
    ]);
    await cancelBackfill(idle, { teamId, batchExportId: batchExport.id, backfillId: next.id });
    await stack.temporal.workflow.getHandle(next.workflow_id!).terminate('test cleanup');
  });

  it("refuses more than the team's limit of active backfills", async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const { batchExport } = await hourlyExport(teamId, 'limit');
    const idle = backfillDeps(stack, { maxActivePerTeam: 1 });
    idle.config.temporal = { ...idle.config.temporal, taskQueue: `${stack.config.temporal.taskQueue}-idle` };
    const first = await createBackfill(idle, {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-02T00:00:00Z' },
    });

    await expect(
      createBackfill(idle, {
        teamId,
        batchExportId: batchExport.id,
        body: { start_at: '2024-02-01T00:00:00Z', end_at: '2024-02-02T00:00:00Z' },
      }),
    ).rejects.toMatchObject({
      name: 'TooManyBackfillsError',
      message: expect.stringContaining('already has 1 backfills running'),
    });

    await cancelBackfill(idle, { teamId, batchExportId: batchExport.id, backfillId: first.id });
    await stack.temporal.workflow.getHandle(first.workflow_id!).terminate('test cleanup');
  });

  it('cancels mid-way: the backfill and its active runs end Cancelled and later intervals never start', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    // Data in the first hour only: 120 hours to go, two at a time, leaves plenty of time to cancel.
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-04-01T00:10:00Z')]);
    const { batchExport } = await hourlyExport(teamId, 'cancel');
    const created = await createBackfill(backfillDeps(stack, { maxParallelRuns: 2 }), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-04-01T00:00:00Z', end_at: '2024-04-06T00:00:00Z' },
    });
    await eventually(
      () => listRuns(stack.db.pool, batchExport.id),
      (runs) => runs.filter((run) => run.status === 'Completed').length >= 2,
    );

    const cancelled = await cancelBackfill(stack.services, {
      teamId,
      batchExportId: batchExport.id,
      backfillId: created.id,
    });
    expect(cancelled).toMatchObject({ status: 'Cancelled', latest_error: 'Cancelled by request' });
    const backfill = await waitForBackfill(stack, created);

    expect(backfill.status).toBe('Cancelled');
    const runs = await listRuns(stack.db.pool, batchExport.id);
    expect(runs.length).toBeLessThan(120);
    expect(runs.filter((run) => run.status === 'Starting' || run.status === 'Running')).toEqual([]);
    expect(new Set(runs.map((run) => run.status))).toContain('Completed');
    const { rows: logs } = await stack.db.pool.query(
      `SELECT message FROM batch_export_log_entries WHERE backfill_id = $1 AND level = 'WARNING'`,
      [backfill.id],
    );
    expect(logs.map((log) => log.message)).toContain('Backfill cancelled: Cancelled by request');
  });

  it('fails with a clear error, without hanging, when its export is deleted during the backfill', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-05-01T00:10:00Z')]);
    const { batchExport } = await hourlyExport(teamId, 'deleted');
    const created = await createBackfill(backfillDeps(stack, { maxParallelRuns: 2 }), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-05-01T00:00:00Z', end_at: '2024-05-06T00:00:00Z' },
    });
    await eventually(
      () => listRuns(stack.db.pool, batchExport.id),
      (runs) => runs.some((run) => run.status === 'Completed'),
    );

    await stack.db.pool.query('UPDATE batch_exports SET deleted = true WHERE id = $1', [batchExport.id]);
    const backfill = await waitForBackfill(stack, created);

    expect(backfill.status).toBe('Failed');
    expect(backfill.latest_error).toContain(`The batch export ${batchExport.id} was deleted while the backfill ran`);
    expect((await listRuns(stack.db.pool, batchExport.id)).length).toBeLessThan(120);
    expect(await getBackfill(stack.db.pool, backfill.id)).toMatchObject({ finished_at: expect.any(Date) });
    expect(await workflowRuns(backfill.id)).toMatchObject([
      { status: 'Failed', latest_error: expect.stringContaining('was deleted while the backfill ran') },
    ]);
  });
});
