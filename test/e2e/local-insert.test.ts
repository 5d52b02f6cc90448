import type { S3Client } from '@aws-sdk/client-s3';
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { EXPORT_WORKFLOW_TYPE } from '../../src/temporal/contracts';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { startS3Recorder } from '../helpers/s3-recorder';
import { createBucket, listKeys, readJsonLinesGz } from '../helpers/s3';
import { createS3Export, intervalInput, runInterval } from '../helpers/s3-exports';
import { useTeamAndS3, useTestStack } from '../helpers/stack';

/** Above this many raw rows an interval goes to the insert activity (INSERT_LOCALLY_MAX_ROWS, set low for the test). */
const MAX_ROWS = 3;
const QUICK_RETRIES = { initialIntervalSeconds: 1, backoffCoefficient: 1, maximumAttempts: 3 };

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What a run cost in Temporal: its workflow tasks, the activities it scheduled (by type), its local activities. */
async function temporalCost(stack: ReturnType<typeof useTestStack>, workflowId: string) {
  const events: HistoryEvent[] = (await stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return {
    workflowTasks: events.filter((event) => event.workflowTaskScheduledEventAttributes).length,
    activities: events
      .filter((event) => event.activityTaskScheduledEventAttributes)
      .map((event) => event.activityTaskScheduledEventAttributes!.activityType!.name),
    activityAttempts: events
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes!.attempt),
    localActivities: events.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .length,
    timers: events.filter((event) => event.timerStartedEventAttributes).length,
  };
}

describe('small intervals inserted by a local activity (INSERT_LOCALLY_MAX_ROWS)', () => {
  const stack = useTestStack({ env: { INSERT_LOCALLY_MAX_ROWS: String(MAX_ROWS) } });
  let s3: S3Client;
  let teamId: number;
  useTeamAndS3(stack, (made) => ({ s3, teamId } = made));

  async function logsOf(runId: string) {
    const { rows } = await stack.db.pool.query<{ level: string; message: string }>(
      'SELECT level, message FROM batch_export_log_entries WHERE run_id = $1 ORDER BY timestamp',
      [runId],
    );
    return rows;
  }

  it('exports a small S3 interval in one workflow task, with no activity task, files and manifest as before', async () => {
    await insertEvents(stack.db.pool, [
      makeEvent(teamId, '2024-07-01T10:05:00Z'),
      makeEvent(teamId, '2024-07-01T10:45:00Z'),
    ]);
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'gzip' });

    const input = intervalInput(batchExport.id, teamId, '2024-07-01T11:00:00Z');
    const { result, run } = await runInterval(stack, EXPORT_WORKFLOW_TYPE, input);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 2 });
    expect(run).toMatchObject({ status: 'Completed', records_completed: 2 });
    expect(await listKeys(s3, bucket)).toEqual([
      '2024-07-01T10:00:00Z-2024-07-01T11:00:00Z.jsonl.gz',
      '2024-07-01T10:00:00Z-2024-07-01T11:00:00Z_manifest.json',
    ]);
    const rows = await readJsonLinesGz(s3, bucket, '2024-07-01T10:00:00Z-2024-07-01T11:00:00Z.jsonl.gz');
    expect(rows).toHaveLength(2);
    // Recording the start, the insert, recording the outcome: three local activities in the run's one workflow task.
    expect(await temporalCost(stack, `${batchExport.id}-${input.dataIntervalEnd}`)).toEqual({
      workflowTasks: 1,
      activities: [],
      activityAttempts: [],
      localActivities: 3,
      timers: 0,
    });
    const logs = await logsOf(run.id);
    expect(logs.filter((log) => log.level !== 'INFO')).toEqual([]);
    expect(logs.map((log) => log.message)).toContainEqual(expect.stringMatching(/^Exporting events to s3:\/\//));
  });

  it('leaves an interval of more raw rows than INSERT_LOCALLY_MAX_ROWS to the insert activity', async () => {
    await insertEvents(
      stack.db.pool,
      Array.from({ length: MAX_ROWS + 1 }, (_, i) => makeEvent(teamId, `2024-07-02T10:0${i}:00Z`)),
    );
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket);

    const input = intervalInput(batchExport.id, teamId, '2024-07-02T11:00:00Z');
    const { run } = await runInterval(stack, EXPORT_WORKFLOW_TYPE, input);

    expect(run).toMatchObject({ status: 'Completed', records_completed: MAX_ROWS + 1 });
    const cost = await temporalCost(stack, `${batchExport.id}-${input.dataIntervalEnd}`);
    expect(cost.activities).toEqual(['insertIntoDestination']);
    expect(cost.activityAttempts).toEqual([1]);
    // The deferral is a local activity too: it counted the rows before anything was announced.
    expect(cost.localActivities).toBe(3);
    expect((await logsOf(run.id)).filter((log) => log.level !== 'INFO')).toEqual([]);
  });

  it('leaves a destination that cannot rewrite an interval whole (NoOp) to the insert activity', async () => {
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-07-03T10:05:00Z')]);
    const noop = await createBatchExport(stack.services, teamId, {
      name: 'noop',
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });

    const input = intervalInput(noop.id, teamId, '2024-07-03T11:00:00Z');
    const { run } = await runInterval(stack, EXPORT_WORKFLOW_TYPE, input);

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect((await temporalCost(stack, `${noop.id}-${input.dataIntervalEnd}`)).activities).toEqual([
      'insertIntoDestination',
    ]);
  });

  it('retries a failed local insert as the insert activity, numbered and logged as attempt 2', async () => {
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-07-04T10:05:00Z')]);
    // The store drops the first requests (the S3 client's own three tries of the first one): the local insert fails
    // as against a store that is briefly down; later requests reach S3.
    const recorder = await startS3Recorder(stack.s3Endpoint);
    let dropped = 0;
    recorder.beforeRelay = () => {
      if (dropped >= 3) return;
      dropped++;
      return Promise.reject(new Error('dropped'));
    };
    try {
      const bucket = await createBucket(s3);
      const batchExport = await createS3Export(stack, teamId, bucket, { endpoint_url: recorder.endpoint });

      const input = intervalInput(batchExport.id, teamId, '2024-07-04T11:00:00Z', QUICK_RETRIES);
      const { run } = await runInterval(stack, EXPORT_WORKFLOW_TYPE, input);

      expect(dropped).toBe(3);
      expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
      expect(await listKeys(s3, bucket)).toEqual([
        '2024-07-04T10:00:00Z-2024-07-04T11:00:00Z.jsonl',
        '2024-07-04T10:00:00Z-2024-07-04T11:00:00Z_manifest.json',
      ]);
      const warnings = (await logsOf(run.id)).filter((log) => log.level === 'WARNING').map((log) => log.message);
      expect(warnings).toEqual([
        expect.stringMatching(/^Attempt 1 of 3 failed: .*; next attempt at /),
        'Retrying the export (attempt 2)',
      ]);
      // The activity waited the policy's first backoff (a timer), and its retry policy has 2 attempts left.
      const cost = await temporalCost(stack, `${batchExport.id}-${input.dataIntervalEnd}`);
      expect(cost).toMatchObject({ activities: ['insertIntoDestination'], activityAttempts: [1], timers: 1 });
      const history = await stack.temporal.workflow
        .getHandle(`${batchExport.id}-${input.dataIntervalEnd}`)
        .fetchHistory();
      const scheduled = history.events!.find((event) => event.activityTaskScheduledEventAttributes)!;
      expect(scheduled.activityTaskScheduledEventAttributes!.retryPolicy!.maximumAttempts).toBe(2);
    } finally {
      await recorder.close();
    }
  });

  it('fails the run at once, with no activity, when the local insert fails in a way no retry mends', async () => {
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-07-05T10:05:00Z')]);
    const batchExport = await createS3Export(stack, teamId, 'bucket-that-was-never-created');

    const input = intervalInput(batchExport.id, teamId, '2024-07-05T11:00:00Z', QUICK_RETRIES);
    const { run } = await runInterval(stack, EXPORT_WORKFLOW_TYPE, input);

    expect(run.status).toBe('Failed');
    expect(run.latest_error).toContain('The bucket does not exist');
    const cost = await temporalCost(stack, `${batchExport.id}-${input.dataIntervalEnd}`);
    expect((await logsOf(run.id)).filter((log) => log.level === 'WARNING')).toEqual([]);
    expect(cost).toMatchObject({ activities: [], timers: 0 });
  });
});
