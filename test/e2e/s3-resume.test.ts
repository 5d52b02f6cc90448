import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ExportProgress } from '../../src/destinations/s3/progress';
import { createTeam } from '../helpers/fixtures';
import { insertNoisyEvents } from '../helpers/source-rows';
import { createBucket, getObject, listKeys, listMultipartUploads, testS3Client } from '../helpers/s3';
import { startAndKill } from '../helpers/kill-worker';
import { createS3Export, readManifestFiles } from '../helpers/s3-exports';
import { startS3Recorder, type S3Recorder } from '../helpers/s3-recorder';
import { useTestStack } from '../helpers/stack';
import type { WorkerProcess } from '../helpers/worker-process';

const EVENTS = 400_000;
/**
 * Each upload request waits this long in a proxy before it reaches moto, so that an export lasts well beyond the
 * heartbeat lag (~2 s) however fast the machine and the export get: the kill must land after a heartbeat reported a
 * part (or a file) and before the file is complete.
 */
const UPLOAD_DELAY_MS = 400;

describe('an S3 export whose worker is killed mid-interval', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '2000', S3_PART_SIZE_MB: '5' } });
  let s3: S3Client;
  let teamId: number;
  let workerProcess: WorkerProcess | undefined;
  /** moto behind the delaying proxy, as the exports reach it (the test reads moto directly). */
  let proxy: S3Recorder;

  beforeAll(async () => {
    proxy = await startS3Recorder(new URL(stack.s3Endpoint).origin);
    proxy.beforeRelay = (request) =>
      request.method === 'PUT' ? new Promise((resolve) => setTimeout(resolve, UPLOAD_DELAY_MS)) : undefined;
    // No worker in this process: the first one is a child process the test kills. Small batches and parts, so that
    // the kill lands after some parts are durable and before the file is complete.
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    // ~240 MB of JSON lines, ~80 MB gzipped: sixteen 5 MiB parts.
    await insertNoisyEvents(stack.db.pool, teamId, EVENTS, '2024-08-01 10:00:00+00');
  });

  afterAll(async () => {
    workerProcess?.child.kill('SIGKILL');
    await proxy?.close();
    s3?.destroy();
  });

  /** Creates an export to `bucket` and runs it, killing its first worker once `ready` (see startAndKill). */
  async function exportAndKill(
    bucket: string,
    config: Record<string, unknown>,
    ready: (progress: S3ExportProgress | null) => boolean,
    maximumAttempts = 5,
    workflowType = 's3-export',
  ) {
    const batchExport = await createS3Export(stack, teamId, bucket, { endpoint_url: proxy.endpoint, ...config });
    return startAndKill(stack, {
      batchExportId: batchExport.id,
      teamId,
      dataIntervalEnd: '2024-08-01T11:00:00Z',
      ready,
      maximumAttempts,
      workflowType,
      onSpawn: (worker) => (workerProcess = worker),
    });
  }

  /** startAndKill, expecting the retried attempt to complete; returns the run and where it resumed. */
  async function exportKilledMidway(
    bucket: string,
    config: Record<string, unknown>,
    ready: (progress: S3ExportProgress | null) => boolean,
  ) {
    const { result, run } = await exportAndKill(bucket, config, ready);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    // The parts went through the delaying proxy.
    expect(proxy.requests.some((request) => request.path.includes(bucket) && request.partNumber !== null)).toBe(true);
    expect(await listMultipartUploads(s3, bucket)).toBe(0);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 ORDER BY timestamp`,
      [run.id],
    );
    const resumed = logs.find((log) => log.message.startsWith('Resuming after'))?.message ?? '';
    return { run, resumedAfter: Number(/Resuming after (\d+) records/.exec(resumed)?.[1]) };
  }

  async function sourceUuids(): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      'SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY inserted_at, uuid',
      [teamId],
    );
    return rows.map((row) => row.uuid);
  }

  it('continues a gzip file after its finished parts on another worker: every row once, no upload left', async () => {
    const bucket = await createBucket(s3);

    const { run, resumedAfter } = await exportKilledMidway(bucket, { compression: 'gzip' }, (progress) =>
      Boolean(progress?.current?.parts.length),
    );

    const dataKey = '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z.jsonl.gz';
    expect(await listKeys(s3, bucket)).toEqual([dataKey, '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z_manifest.json']);
    const object = await getObject(s3, bucket, dataKey);
    const uuids = gunzipSync(object)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => (JSON.parse(line) as { uuid: string }).uuid);
    // Every row once, in order: nothing lost or repeated at the part boundary where the second attempt took over.
    expect(uuids).toEqual(await sourceUuids());
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS, bytes_exported: object.length });
    // The second attempt continued the file after the parts the first one finished, instead of starting over.
    expect(resumedAfter).toBeGreaterThan(0);
  }, 300_000);

  it('keeps finished Parquet files and writes the unfinished one again: every row once, no upload left', async () => {
    const bucket = await createBucket(s3);

    // A Parquet file cannot be continued (its footer lists its row groups): the killed attempt's unfinished file is
    // written again from its first row. Files roll over at 5 MB.
    const { run, resumedAfter } = await exportKilledMidway(
      bucket,
      { file_format: 'Parquet', compression: 'zstd', max_file_size_mb: 5 },
      (progress) => (progress?.files.length ?? 0) > 0,
    );

    const { manifest, uuids } = await readManifestFiles(
      s3,
      bucket,
      '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z_manifest.json',
      { file_format: 'Parquet', compression: 'zstd' },
    );
    expect(manifest.files.length).toBeGreaterThan(1);
    expect(uuids).toEqual(await sourceUuids());
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS });
    // The second attempt started at a file boundary: after the files the first one finished.
    const boundaries = manifest.files.map((_, n) =>
      manifest.files.slice(0, n + 1).reduce((sum, file) => sum + file.records, 0),
    );
    expect(boundaries.slice(0, -1)).toContain(resumedAfter);
  }, 300_000);

  // `s3-export` is the workflow type of schedules created before `batch-export` (the one export workflow).
  it.each(['batch-export', 's3-export'])(
    '%s aborts the upload a killed last attempt left behind, and ends FailedRetryable',
    async (workflowType) => {
      const bucket = await createBucket(s3);

      // One attempt only: the killed one is the last, so nothing will continue its upload.
      const { error, run } = await exportAndKill(
        bucket,
        { compression: 'gzip' },
        (progress) => Boolean(progress?.current?.parts.length),
        1,
        workflowType,
      );

      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(run.status).toBe('FailedRetryable');
      expect(run.latest_error).toMatch(/heartbeat/i);
      expect(await listMultipartUploads(s3, bucket)).toBe(0);
      expect(await listKeys(s3, bucket)).toEqual([]);
    },
    300_000,
  );
});
