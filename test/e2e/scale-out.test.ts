import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, exportedRows, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, readJsonLinesGz, testS3Client } from '../helpers/s3';
import { createS3Export, intervalInput } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

const EXPORTS = 100;
const BACKFILL_HOURS = 12;

describe('worker processes on one task queue, one of them SIGKILLed mid-flight', () => {
  const stack = useTestStack({ worker: false });
  let s3: S3Client;
  let teamId: number;
  let workers: WorkerProcess[] = [];

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(stack.db.pool, [
      ...Array.from({ length: 20 }, (_, i) => makeEvent(teamId, `2024-09-01T10:${String(i * 3).padStart(2, '0')}:00Z`)),
      ...Array.from({ length: BACKFILL_HOURS * 2 }, (_, i) =>
        makeEvent(teamId, `2024-09-02T${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '45' : '15'}:00Z`),
      ),
    ]);
  });

  afterEach(() => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    workers = [];
  });

  afterAll(async () => {
    s3?.destroy();
  });

  async function sourceUuids(from: string, to: string): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      `SELECT uuid::text FROM events WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3 ORDER BY uuid`,
      [teamId, from, to],
    );
    return rows.map((row) => row.uuid);
  }

  async function completedRuns(exportIds: string[]): Promise<number> {
    const { rows } = await stack.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_export_runs WHERE status = 'Completed' AND batch_export_id = ANY($1::uuid[])`,
      [exportIds],
    );
    return rows[0]!.n;
  }

  it.each([2, 3])(
    `%i workers share ${EXPORTS} exports and a backfill, the rest finish them after a SIGKILL: every run Completed, every row once`,
    async (count) => {
      workers = Array.from({ length: count }, () => spawnWorkerProcess(stack));
      for (const worker of workers) await worker.waitFor('Worker started');
      const bucket = await createBucket(s3);
      const exports = [];
      for (let i = 0; i < EXPORTS; i++) {
        exports.push(await createS3Export(stack, teamId, bucket, { prefix: `export-${i}`, compression: 'gzip' }));
      }
      const backfillBucket = await createBucket(s3);
      const backfilled = await createS3Export(stack, teamId, backfillBucket, { compression: 'gzip' });
      const ids = [...exports.map((batchExport) => batchExport.id), backfilled.id];

      const handles = await Promise.all(
        exports.map((batchExport) =>
          stack.temporal.workflow.start('s3-export', {
            taskQueue: stack.config.temporal.taskQueue,
            workflowId: `${batchExport.id}-scale-out`,
            // The killed worker's attempts are retried 3 s after its last heartbeat.
            args: [
              intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z', {
                heartbeatTimeoutSeconds: 3,
                initialIntervalSeconds: 1,
              }),
            ],
          }),
        ),
      );
      const backfill = await createBackfill(backfillDeps(stack), {
        teamId,
        batchExportId: backfilled.id,
        body: { start_at: '2024-09-02T00:00:00Z', end_at: `2024-09-02T${BACKFILL_HOURS}:00:00Z` },
      });
      // Mid-flight: a third of the runs done, every worker busy.
      while ((await completedRuns(ids)) < EXPORTS / 3) await new Promise((resolve) => setTimeout(resolve, 50));
      const [killed, ...survivors] = workers as [WorkerProcess, ...WorkerProcess[]];
      killed.child.kill('SIGKILL');
      await killed.exited;
      const doneAtKill = await completedRuns(ids);

      const results = await Promise.all(handles.map((handle) => handle.result()));
      const backfillRow = await waitForBackfill(stack, backfill);

      expect(doneAtKill).toBeLessThan(EXPORTS + BACKFILL_HOURS);
      for (const worker of workers) expect(worker.output()).toContain('Batch export run started');
      for (const survivor of survivors) expect(survivor.child.exitCode).toBeNull();
      // Attempts the killed worker had in hand were retried (by the survivors).
      const { rows: retried } = await stack.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM batch_export_log_entries
       WHERE message LIKE 'Retrying the export%' AND batch_export_id = ANY($1::uuid[])`,
        [ids],
      );
      expect(retried[0]!.n).toBeGreaterThan(0);
      expect(results.every((result) => result.status === 'Completed')).toBe(true);
      expect(backfillRow.status).toBe('Completed');
      const { rows: statuses } = await stack.db.pool.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM batch_export_runs WHERE batch_export_id = ANY($1::uuid[]) GROUP BY status',
        [ids],
      );
      expect(statuses).toEqual([{ status: 'Completed', n: EXPORTS + BACKFILL_HOURS }]);
      const hour = await sourceUuids('2024-09-01T10:00:00Z', '2024-09-01T11:00:00Z');
      for (let i = 0; i < EXPORTS; i++) {
        const rows = await readJsonLinesGz(
          s3,
          bucket,
          `export-${i}/2024-09-01T10:00:00Z-2024-09-01T11:00:00Z.jsonl.gz`,
        );
        expect(rows.map((row) => row.uuid as string).sort()).toEqual(hour);
      }
      const backfillRows = await exportedRows(s3, backfillBucket);
      expect(backfillRows.map((row) => row.uuid as string).sort()).toEqual(
        await sourceUuids('2024-09-02T00:00:00Z', `2024-09-02T${BACKFILL_HOURS}:00:00Z`),
      );
    },
    300_000,
  );
});
