import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectExportProgress } from '../../src/destinations/object-storage/progress';
import { createBatchExport } from '../../src/service/batch-exports';
import {
  createContainer,
  downloadBlobText,
  listContainer,
  readBlob,
  startAzurite,
  testAzureDestination,
  type Azurite,
} from '../helpers/azurite';
import { createTeam } from '../helpers/fixtures';
import { startS3Recorder, type S3Recorder } from '../helpers/s3-recorder';
import { insertNoisyEvents } from '../helpers/source-rows';
import { startAndKill } from '../helpers/kill-worker';
import { useTestStack } from '../helpers/stack';
import type { WorkerProcess } from '../helpers/worker-process';

const EVENTS = 200_000;
/**
 * Each upload request waits this long in a proxy before it reaches Azurite, so that an export lasts well beyond the
 * heartbeat lag (~2.4 s) however fast the machine: 200,000 events took 2.3 s unhindered on an idle one, too short
 * for a heartbeat to report staged blocks before the file was done.
 */
const UPLOAD_DELAY_MS = 600;
const BASE = '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z';

describe('an Azure Blob Storage export whose worker is killed mid-interval', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '2000', S3_PART_SIZE_MB: '5' } });
  let azurite: Azurite;
  /** Azurite behind the delaying proxy, as the exports reach it. */
  let slowAzurite: Azurite;
  let proxy: S3Recorder;
  let teamId: number;
  let workerProcess: WorkerProcess | undefined;

  beforeAll(async () => {
    azurite = await startAzurite();
    proxy = await startS3Recorder(new URL(azurite.endpoint).origin);
    proxy.beforeRelay = (request) =>
      request.method === 'PUT' ? new Promise((resolve) => setTimeout(resolve, UPLOAD_DELAY_MS)) : undefined;
    slowAzurite = { ...azurite, endpoint: `${proxy.endpoint}${new URL(azurite.endpoint).pathname}` };
    ({ teamId } = await createTeam(stack.db.pool));
    // ~120 MB of JSON lines, ~40 MB gzipped: eight 5 MiB blocks.
    await insertNoisyEvents(stack.db.pool, teamId, EVENTS, '2024-08-01 10:00:00+00');
  }, 120_000);

  afterAll(async () => {
    workerProcess?.child.kill('SIGKILL');
    await proxy?.close();
    await azurite?.stop();
  });

  /** Creates an export to `container` and runs it, killing its first worker once `ready` (see startAndKill). */
  async function exportAndKill(
    container: string,
    config: Record<string, unknown>,
    ready: (progress: ObjectExportProgress | null) => boolean,
    maximumAttempts = 5,
  ) {
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: `azure ${randomUUID()}`,
      model: 'events',
      destination: testAzureDestination(slowAzurite, container, config),
      interval: 'hour',
    });
    return startAndKill(stack, {
      batchExportId: batchExport.id,
      teamId,
      dataIntervalEnd: '2024-08-01T11:00:00Z',
      ready,
      maximumAttempts,
      onSpawn: (worker) => (workerProcess = worker),
    });
  }

  async function sourceUuids(): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      'SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY inserted_at, uuid',
      [teamId],
    );
    return rows.map((row) => row.uuid);
  }

  async function resumedAfter(runId: string): Promise<number> {
    const { rows } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 ORDER BY timestamp`,
      [runId],
    );
    const resumed = rows.find((log) => log.message.startsWith('Resuming after'))?.message ?? '';
    return Number(/Resuming after (\d+) records/.exec(resumed)?.[1]);
  }

  it('continues a gzip blob after its committed-to-be blocks on another worker: every row once, no block left', async () => {
    const container = await createContainer(azurite);

    const { result, run, heartbeated } = await exportAndKill(container, { compression: 'gzip' }, (progress) =>
      Boolean(progress?.current?.parts.length),
    );

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    const listing = await listContainer(azurite, container);
    expect(listing.uncommitted).toEqual([]);
    const dataKey = `${BASE}.jsonl.gz`;
    expect(listing.blobs.map((blob) => blob.name)).toEqual([dataKey, `${BASE}_manifest.json`]);
    const { rows } = await readBlob(azurite, container, dataKey, {
      file_format: 'JSONLines',
      compression: 'gzip',
      columns: ['uuid'],
    });
    // Every row once, in order: nothing lost or repeated at the block where the second attempt took over.
    expect(rows.map((row) => row.uuid)).toEqual(await sourceUuids());
    expect(run).toMatchObject({
      status: 'Completed',
      records_completed: EVENTS,
      bytes_exported: listing.blobs[0]!.size,
    });
    // The second attempt continued the blob after the blocks the first one staged, at or after the last heartbeat.
    expect(await resumedAfter(run.id)).toBeGreaterThanOrEqual(heartbeated!.current!.mark.records);
    const manifest = JSON.parse(await downloadBlobText(azurite, container, `${BASE}_manifest.json`)) as {
      files: Array<{ key: string; bytes: number; sha256: string }>;
    };
    expect(manifest.files).toEqual([
      expect.objectContaining({ key: dataKey, bytes: listing.blobs[0]!.size, sha256: listing.blobs[0]!.sha256 }),
    ]);
  }, 600_000);

  it('keeps finished Parquet blobs and writes the unfinished one again: every row once', async () => {
    const container = await createContainer(azurite);

    const { result, run } = await exportAndKill(
      container,
      { file_format: 'Parquet', compression: 'zstd', max_file_size_mb: 5 },
      (progress) => (progress?.files.length ?? 0) > 0,
    );

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    const listing = await listContainer(azurite, container);
    expect(listing.uncommitted).toEqual([]);
    const manifest = JSON.parse(await downloadBlobText(azurite, container, `${BASE}_manifest.json`)) as {
      files: Array<{ key: string; records: number }>;
    };
    expect(manifest.files.length).toBeGreaterThan(1);
    const uuids: string[] = [];
    for (const file of manifest.files) {
      const { rows } = await readBlob(azurite, container, file.key, {
        file_format: 'Parquet',
        compression: 'zstd',
        columns: ['uuid'],
      });
      expect(rows).toHaveLength(file.records);
      uuids.push(...rows.map((row) => row.uuid as string));
    }
    expect(uuids).toEqual(await sourceUuids());
    // The second attempt started at a file boundary: after the files the first one finished.
    const boundaries = manifest.files.map((_, n) =>
      manifest.files.slice(0, n + 1).reduce((sum, file) => sum + file.records, 0),
    );
    expect(boundaries.slice(0, -1)).toContain(await resumedAfter(run.id));
  }, 600_000);

  it('drops the blocks a killed last attempt staged, and ends FailedRetryable', async () => {
    const container = await createContainer(azurite);

    // One attempt only: the killed one is the last, so nothing will continue its blocks.
    const { error, run } = await exportAndKill(
      container,
      { compression: 'gzip' },
      (progress) => Boolean(progress?.current?.parts.length),
      1,
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(run.status).toBe('FailedRetryable');
    expect(await listContainer(azurite, container)).toEqual({ blobs: [], uncommitted: [] });
  }, 600_000);
});
