import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, eventually, exportedRows, s3Destination, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, testS3Client } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';

describe('a backfill across a worker restart', () => {
  const stack = useTestStack({ worker: false });
  let s3: S3Client;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
  });

  afterAll(async () => {
    s3?.destroy();
  });

  it('carries on where it was on a new worker, exporting every row once', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    const events = Array.from({ length: 24 }, (_, hour) =>
      makeEvent(teamId, new Date(Date.parse('2024-09-10T00:00:00Z') + hour * 3_600_000 + 600_000).toISOString()),
    );
    await insertEvents(stack.db.pool, events);
    const bucket = await createBucket(s3);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'restarted',
      destination: s3Destination(stack, bucket),
      paused: true,
    });
    const first = await stack.startWorker();
    const created = await createBackfill(backfillDeps(stack, { maxParallelRuns: 2 }), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-09-10T00:00:00Z', end_at: '2024-09-11T00:00:00Z' },
    });
    await eventually(
      () => listRuns(stack.db.pool, batchExport.id),
      (runs) => runs.filter((run) => run.status === 'Completed').length >= 3,
    );

    // The worker goes away part way (a deploy); another one takes over the same task queue.
    await first.stop();
    const before = (await listRuns(stack.db.pool, batchExport.id)).length;
    await stack.startWorker();
    const backfill = await waitForBackfill(stack, created);

    expect(before).toBeLessThan(24);
    expect(backfill).toMatchObject({ status: 'Completed', total_runs: 24, finished_runs: 24 });
    const runs = await listRuns(stack.db.pool, batchExport.id);
    expect(runs).toHaveLength(24);
    expect(new Set(runs.map((run) => run.status))).toEqual(new Set(['Completed']));
    const rows = await exportedRows(s3, bucket);
    expect(rows.map((row) => row.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
  });
});
