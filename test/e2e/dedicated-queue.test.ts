import { randomBytes, randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import type { BatchExportRecord } from '../../src/db/batch-exports';
import { createBackfill } from '../../src/service/backfills';
import { createBatchExport, type ServiceDependencies } from '../../src/service/batch-exports';
import { waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, testS3Client, testS3Destination } from '../helpers/s3';
import { startS3Recorder, type S3Recorder } from '../helpers/s3-recorder';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

/** Activities the dedicated queue's worker runs at once: what its destination may see at most. */
const LIMIT = 2;
const HOURS = 8;
/** Each request waits this long at the recorder before S3 gets it, so that loads let run together overlap. */
const HOLD_MS = 300;

/** Counts the requests a destination (an S3 server behind the recorder) is serving at once; keeps the highest. */
function countConcurrentRequests(recorder: S3Recorder): { max: () => number } {
  let inFlight = 0;
  let max = 0;
  recorder.beforeRelay = async () => {
    inFlight++;
    max = Math.max(max, inFlight);
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  };
  recorder.onResponse = () => {
    inFlight--;
  };
  return { max: () => max };
}

describe('an export on a task queue of its own (DEDICATED_TASK_QUEUES)', () => {
  // The stack's in-process worker serves the shared queue, with the default slots (7 activities).
  const stack = useTestStack();
  const queue = `dedicated-${randomUUID()}`;
  let s3: S3Client;
  let services: ServiceDependencies;
  let dedicatedTeam: number;
  let sharedTeam: number;
  let worker: WorkerProcess;
  const recorders: S3Recorder[] = [];

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId: dedicatedTeam } = await createTeam(stack.db.pool));
    ({ teamId: sharedTeam } = await createTeam(stack.db.pool));
    const events = [dedicatedTeam, sharedTeam].flatMap((team) =>
      Array.from({ length: HOURS }, (_, hour) => makeEvent(team, `2024-03-01T0${hour}:30:00Z`)),
    );
    await insertEvents(stack.db.pool, events);
    // The configuration as an operator writes it: every export of the dedicated team runs on `queue`.
    const { dedicatedQueues } = loadConfig({
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DEDICATED_TASK_QUEUES: `${dedicatedTeam}=${queue}`,
    }).temporal;
    const config: Config = { ...stack.config, temporal: { ...stack.config.temporal, dedicatedQueues } };
    services = { ...stack.services, config };
    // The worker serving that queue: a worker process, its slots and rate limit from its environment.
    worker = spawnWorkerProcess(stack, {
      TASK_QUEUE: queue,
      WORKER_MAX_CONCURRENT_ACTIVITIES: String(LIMIT),
      WORKER_MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND: '100',
    });
    const started = (await worker.waitFor('Worker started'))
      .split('\n')
      .find((line) => line.includes('Worker started'));
    // What it serves, as it logs it: the queue, its slots and the queue's rate limit.
    expect(JSON.parse(started!)).toMatchObject({
      task_queue: queue,
      maxConcurrentActivities: LIMIT,
      maxTaskQueueActivitiesPerSecond: 100,
    });
  });

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    s3?.destroy();
    await Promise.all(recorders.map((recorder) => recorder.close()));
  });

  /** A paused hourly export of `teamId` to its own bucket behind a recorder, counting its destination's load. */
  async function exportBehindRecorder(teamId: number) {
    const recorder = await startS3Recorder(stack.s3Endpoint);
    recorders.push(recorder);
    const concurrency = countConcurrentRequests(recorder);
    const bucket = await createBucket(s3);
    const batchExport: BatchExportRecord = await createBatchExport(services, teamId, {
      name: `queue ${randomUUID()}`,
      destination: testS3Destination(recorder.endpoint, bucket, { compression: 'gzip' }),
      interval: 'hour',
      paused: true,
    });
    return { batchExport, concurrency };
  }

  async function backfillHours(batchExport: BatchExportRecord) {
    const backfill = await createBackfill(services, {
      teamId: batchExport.team_id,
      batchExportId: batchExport.id,
      body: { start_at: '2024-03-01T00:00:00Z', end_at: `2024-03-01T0${HOURS}:00:00Z` },
    });
    return { backfill, done: await waitForBackfill(stack, backfill) };
  }

  /** The task queue each of the export's runs (child workflows of the backfill) ran on. */
  async function runQueues(batchExportId: string): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ workflow_id: string }>(
      'SELECT workflow_id FROM batch_export_runs WHERE batch_export_id = $1',
      [batchExportId],
    );
    const queues = await Promise.all(
      rows.map(async (row) => (await stack.temporal.workflow.getHandle(row.workflow_id).describe()).taskQueue),
    );
    return queues;
  }

  it(`schedules and backfills it on its queue, whose worker loads its destination at most ${LIMIT} at a time`, async () => {
    const { batchExport, concurrency } = await exportBehindRecorder(dedicatedTeam);
    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();
    expect(schedule.action.type === 'startWorkflow' && schedule.action.taskQueue).toBe(queue);

    const { backfill, done } = await backfillHours(batchExport);

    expect(done).toMatchObject({ status: 'Completed', total_records_count: HOURS });
    expect((await stack.temporal.workflow.getHandle(backfill.workflow_id!).describe()).taskQueue).toBe(queue);
    expect(await runQueues(batchExport.id)).toEqual(Array.from({ length: HOURS }, () => queue));
    expect(concurrency.max()).toBeGreaterThanOrEqual(1);
    expect(concurrency.max()).toBeLessThanOrEqual(LIMIT);
  }, 120_000);

  it('an export without a queue of its own runs on the shared queue, where the same backfill loads more at once', async () => {
    const { batchExport, concurrency } = await exportBehindRecorder(sharedTeam);
    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();
    expect(schedule.action.type === 'startWorkflow' && schedule.action.taskQueue).toBe(stack.config.temporal.taskQueue);

    const { done } = await backfillHours(batchExport);

    expect(done).toMatchObject({ status: 'Completed', total_records_count: HOURS });
    expect(await runQueues(batchExport.id)).toEqual(
      Array.from({ length: HOURS }, () => stack.config.temporal.taskQueue),
    );
    // What the limit prevents: unbounded by it, the destination sees more than LIMIT loads at once.
    expect(concurrency.max()).toBeGreaterThan(LIMIT);
  }, 120_000);
});
