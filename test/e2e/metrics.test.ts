import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { freePort } from '../../src/dev/ports';
import { cancelBackfill, createBackfill } from '../../src/service/backfills';
import { backfillDeps, eventually } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { parseMetrics, sampleValue, scrape, type Sample } from '../helpers/prometheus';
import { createBucket, testS3Client } from '../helpers/s3';
import { createS3Export, intervalInput, runInterval } from '../helpers/s3-exports';
import { startTestStack, type TestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

const END = '2024-09-01T11:00:00Z';

describe('metrics', () => {
  let stack: TestStack;
  let worker: WorkerProcess;
  let workerMetrics: string;
  let sdkMetrics: string;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    const [workerPort, sdkPort] = [await freePort(), await freePort()];
    workerMetrics = `http://127.0.0.1:${workerPort}/metrics`;
    sdkMetrics = `http://127.0.0.1:${sdkPort}/metrics`;
    worker = spawnWorkerProcess(stack, {
      WORKER_METRICS_PORT: String(workerPort),
      TEMPORAL_SDK_METRICS_PORT: String(sdkPort),
    });
    expect(await worker.waitFor('Worker started')).toContain('Worker started');
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await stack?.stop();
  });

  it('the worker counts a completed and a failed run, their rows, bytes and failed attempts', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [
      makeEvent(teamId, '2024-09-01T10:10:00Z'),
      makeEvent(teamId, '2024-09-01T10:20:00Z'),
      makeEvent(teamId, '2024-09-01T10:30:00Z'),
    ]);
    const bucket = await createBucket(testS3Client(stack.s3Endpoint));
    const good = await createS3Export(stack, teamId, bucket);
    // Nothing listens there: each attempt is refused (a transient error), and the run fails after its two attempts.
    const bad = await createS3Export(stack, teamId, bucket, { endpoint_url: `http://127.0.0.1:${await freePort()}` });
    const s3 = { destination: 'S3', model: 'events' };
    const before = await scrape(workerMetrics);

    const completed = await runInterval(stack, 's3-export', intervalInput(good.id, teamId, END));
    const failed = await runInterval(
      stack,
      's3-export',
      intervalInput(bad.id, teamId, END, { initialIntervalSeconds: 1, maximumAttempts: 2 }),
    );
    const after = await scrape(workerMetrics);

    expect(completed.run).toMatchObject({ status: 'Completed', records_completed: 3 });
    expect(failed.run.status).toMatch(/^Failed/);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('batch_exports_runs_finished_total', { ...s3, status: 'Completed' })).toBe(1);
    expect(moved('batch_exports_runs_finished_total', { ...s3, status: failed.run.status })).toBe(1);
    expect(moved('batch_exports_rows_exported_total', s3)).toBe(3);
    expect(completed.run.bytes_exported).toBeGreaterThan(0);
    expect(moved('batch_exports_bytes_exported_total', s3)).toBe(Number(completed.run.bytes_exported));
    expect(moved('batch_exports_run_duration_seconds_count', s3)).toBe(2);
    expect(moved('batch_exports_run_rows_per_second_count', s3)).toBe(1);
    expect(moved('batch_exports_failed_attempts_total', { kind: 'transient' })).toBe(2);
    expect(moved('batch_exports_failed_attempts_total')).toBe(2);
    // No run or export ids in the worker's labels.
    const labelValues = after.flatMap((sample) => Object.values(sample.labels));
    expect(labelValues).not.toContain(completed.run.id);
    expect(labelValues).not.toContain(good.id);
  });

  it("the worker serves the Temporal SDK's own metrics", async () => {
    const samples = await scrape(sdkMetrics);

    expect(samples.some((sample) => sample.name.startsWith('temporal_'))).toBe(true);
    expect(samples.map((sample) => sample.name)).toContain('temporal_worker_start');
  });

  it('the API serves freshness lag per export and counts its requests', async () => {
    const app = await buildServer({ deps: stack.services });
    try {
      const { teamId } = await createTeam(stack.db.pool);
      await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-09-01T10:10:00Z')]);
      const bucket = await createBucket(testS3Client(stack.s3Endpoint));
      const fresh = await createS3Export(stack, teamId, bucket);
      const { run } = await runInterval(stack, 's3-export', intervalInput(fresh.id, teamId, END));
      expect(run.status).toBe('Completed');

      const scrapedAt = Date.now();
      const first = await scrapeApi(app);
      const second = await scrapeApi(app);

      const lag = sampleValue(first, 'batch_exports_freshness_lag_seconds', {
        batch_export_id: fresh.id,
        team_id: String(teamId),
      });
      const expected = (scrapedAt - Date.parse(END)) / 1000;
      expect(Math.abs(lag - expected)).toBeLessThan(60);
      // Scrapes are not counted as requests; other routes are.
      expect(sampleValue(second, 'batch_exports_api_requests_total', { route: '/metrics' })).toBe(0);
      await app.inject({ method: 'GET', url: '/health' });
      const third = await scrapeApi(app);
      expect(
        sampleValue(third, 'batch_exports_api_requests_total', { method: 'GET', route: '/health' }) -
          sampleValue(second, 'batch_exports_api_requests_total', { method: 'GET', route: '/health' }),
      ).toBe(1);
    } finally {
      await app.close();
    }
  });

  it("the API serves an active backfill's intervals done and remaining", async () => {
    const app = await buildServer({ deps: stack.services });
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-09-01T10:10:00Z')]);
    // Nothing listens there: the backfill's first run keeps retrying, one interval at a time, so none is done.
    const stuck = await createS3Export(stack, teamId, 'stuck', {
      endpoint_url: `http://127.0.0.1:${await freePort()}`,
    });
    const backfill = await createBackfill(backfillDeps(stack, { maxParallelRuns: 1 }), {
      teamId,
      batchExportId: stuck.id,
      body: { start_at: '2024-09-01T10:00:00Z', end_at: '2024-09-01T13:00:00Z' },
    });
    try {
      const labels = { batch_export_id: stuck.id };
      const samples = await eventually(
        () => scrapeApi(app),
        (found) => sampleValue(found, 'batch_exports_backfill_intervals', { ...labels, state: 'remaining' }) > 0,
      );

      expect(sampleValue(samples, 'batch_exports_backfill_intervals', { ...labels, state: 'remaining' })).toBe(3);
      expect(sampleValue(samples, 'batch_exports_backfill_intervals', { ...labels, state: 'done' })).toBe(0);
    } finally {
      await cancelBackfill(backfillDeps(stack), { teamId, batchExportId: stuck.id, backfillId: backfill.id });
      await app.close();
    }
  });
});

async function scrapeApi(app: Awaited<ReturnType<typeof buildServer>>): Promise<Sample[]> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain/);
  return parseMetrics(response.body);
}
