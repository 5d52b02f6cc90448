import type { S3Client } from '@aws-sdk/client-s3';
import { temporal } from '@temporalio/proto';
import type { PoolClient } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BackfillRecord } from '../../src/db/backfills';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, eventually, exportedRows, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, testS3Client } from '../helpers/s3';
import { createS3Export } from '../helpers/s3-exports';
import { startTestStack, type TestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

/**
 * A worker SIGKILLed while the backfill workflow's own activity is in flight (the estimate, planning a page): the
 * attempt is retried on another worker once Temporal notices (the estimate's heartbeat timeout, the 1-minute
 * start-to-close timeout of the others), not after the 30 minutes these activities used to be allowed. The activity
 * is held in flight by a lock on the table it reads; the test's timeout is far below 30 minutes.
 */
describe('a backfill whose worker dies during its own activities', () => {
  let stack: TestStack;
  let s3: S3Client;
  let teamId: number;
  let worker: WorkerProcess | undefined;
  let lockers: PoolClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(stack.db.pool, [
      makeEvent(teamId, '2024-09-03T00:15:00Z'),
      makeEvent(teamId, '2024-09-03T01:15:00Z'),
    ]);
  });

  afterEach(async () => {
    worker?.child.kill('SIGKILL');
    for (const locker of lockers) {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
    lockers = [];
  });

  afterAll(async () => {
    s3?.destroy();
    await stack?.stop();
  });

  /**
   * Waits until the backfill workflow's pending activity is `activity`, started by a worker, and a worker's query
   * waits for the lock on `table`: that activity is in flight, held there.
   */
  async function heldInFlight(backfill: BackfillRecord, activity: string, table: string): Promise<void> {
    const handle = stack.temporal.workflow.getHandle(backfill.workflow_id!);
    await eventually(
      async () => {
        const { raw } = await handle.describe();
        const pending = (raw.pendingActivities ?? []).map((pending) => ({
          type: pending.activityType?.name,
          started: pending.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        }));
        const { rows } = await stack.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND application_name = 'batch-exports-worker' AND query LIKE $1`,
          [`%${table}%`],
        );
        return { pending, waiting: rows[0]!.n };
      },
      ({ pending, waiting }) => waiting > 0 && pending.some(({ type, started }) => type === activity && started),
    );
  }

  /** Holds ACCESS EXCLUSIVE on `table` until released: whatever reads it waits. */
  async function lockTable(table: string): Promise<PoolClient> {
    const client = await stack.db.pool.connect();
    lockers.push(client);
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return client;
  }

  it.each([
    { activity: 'estimateBackfill', table: 'events' },
    { activity: 'planBackfillIntervals', table: 'batch_export_runs' },
  ])(
    'completes after a SIGKILL during $activity, retried on the next worker',
    async ({ activity, table }) => {
      const bucket = await createBucket(s3);
      const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'gzip' });
      worker = spawnWorkerProcess(stack);
      await worker.waitFor('Worker started');
      // The estimate reads events: holding them holds the backfill there. Planning reads batch_export_runs, which
      // is locked while the estimate waits and the estimate released then, so that planning is where it waits.
      const events = await lockTable('events');
      const backfill = await createBackfill(backfillDeps(stack), {
        teamId,
        batchExportId: batchExport.id,
        // skip_exported: planning reads the completed runs.
        body: { start_at: '2024-09-03T00:00:00Z', end_at: '2024-09-03T02:00:00Z', skip_exported: true },
      });
      await heldInFlight(backfill, 'estimateBackfill', 'events');
      if (table !== 'events') {
        await lockTable(table);
        await events.query('COMMIT');
        await heldInFlight(backfill, activity, table);
      }
      worker.child.kill('SIGKILL');
      await worker.exited;
      for (const locker of lockers) await locker.query('COMMIT');
      const { stop } = await stack.startWorker();
      try {
        const finished = await waitForBackfill(stack, backfill);
        expect(finished).toMatchObject({ status: 'Completed', total_runs: 2 });
        expect(await exportedRows(s3, bucket)).toHaveLength(2);
      } finally {
        await stop();
      }
    },
    150_000,
  );
});
