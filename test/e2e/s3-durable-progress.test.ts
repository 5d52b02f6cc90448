import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../helpers/fixtures';
import { createBucket, getObject, listKeys, listMultipartUploads, testS3Client } from '../helpers/s3';
import { createS3Export, finishedRun, intervalInput } from '../helpers/s3-exports';
import { startS3Recorder, type RecordedRequest, type S3Recorder } from '../helpers/s3-recorder';
import { insertNoisyEvents } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

// ~60 MB gzipped: twelve 5 MiB parts.
const EVENTS = 300_000;
// The worker is killed as S3 answers this many parts.
const KILL_AFTER_PARTS = 4;

describe('an S3 export whose worker is killed right after a part is stored', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '2000', S3_PART_SIZE_MB: '5' } });
  let s3: S3Client;
  let recorder: S3Recorder;
  let teamId: number;
  let workerProcess: WorkerProcess | undefined;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    recorder = await startS3Recorder(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    await insertNoisyEvents(stack.db.pool, teamId, EVENTS, '2024-08-01 10:00:00+00');
  });

  afterAll(async () => {
    workerProcess?.child.kill('SIGKILL');
    s3?.destroy();
    await recorder?.close();
  });

  it('has the next attempt upload only the parts after those S3 holds, and writes every row once', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, {
      compression: 'gzip',
      endpoint_url: recorder.endpoint,
    });
    const first = (workerProcess = spawnWorkerProcess(stack));
    const stored = () => recorder.requests.filter((request) => request.partNumber !== null && request.status === 200);
    // SIGKILL as S3 answers a part: the worker may not even read the answer, let alone heartbeat it.
    recorder.onResponse = (request) => {
      if (request.partNumber !== null && stored().length >= KILL_AFTER_PARTS) first.child.kill('SIGKILL');
    };
    const workflowId = `${batchExport.id}-durable`;
    const handle = await stack.temporal.workflow.start('s3-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      // 10 s: the SDK sends at most one heartbeat per 8 s, so the server's last heartbeat is parts behind the kill.
      args: [
        intervalInput(batchExport.id, teamId, '2024-08-01T11:00:00Z', {
          heartbeatTimeoutSeconds: 10,
          initialIntervalSeconds: 1,
          maximumAttempts: 5,
        }),
      ],
    });
    await first.exited;
    const killedAt = Date.now();
    const second = await stack.startWorker();
    const result = await handle.result();
    await second.stop();

    const parts = (requests: RecordedRequest[]) => requests.map((request) => request.partNumber!);
    const firstStored = new Set(parts(stored().filter((request) => request.startedAt < killedAt)));
    let held = 0;
    while (firstStored.has(held + 1)) held++;
    expect(held).toBeGreaterThanOrEqual(KILL_AFTER_PARTS - 1);
    const retried = recorder.requests.filter((request) => request.partNumber !== null && request.startedAt > killedAt);
    // The next attempt continued the same upload after the parts S3 held, and redid at most one part (one stored
    // after a gap, while the part before it was still in flight).
    expect(new Set(retried.map((request) => request.uploadId)).size).toBe(1);
    expect(retried[0]!.uploadId).toBe(stored()[0]!.uploadId);
    expect(Math.min(...parts(retried))).toBe(held + 1);
    expect(parts(retried).filter((number) => firstStored.has(number)).length).toBeLessThanOrEqual(1);

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    const dataKey = '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z.jsonl.gz';
    expect(await listKeys(s3, bucket)).toEqual([dataKey, '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z_manifest.json']);
    expect(await listMultipartUploads(s3, bucket)).toBe(0);
    const uuids = gunzipSync(await getObject(s3, bucket, dataKey))
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => (JSON.parse(line) as { uuid: string }).uuid);
    const { rows: source } = await stack.db.pool.query<{ uuid: string }>(
      'SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY inserted_at, uuid',
      [teamId],
    );
    expect(uuids).toEqual(source.map((row) => row.uuid));
    const run = await finishedRun(stack, batchExport.id, workflowId);
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS });
    // Nothing of the run's progress is kept once it completed.
    const { rows: kept } = await stack.db.pool.query(
      `SELECT 1 FROM batch_export_run_progress WHERE run_id = $1
       UNION ALL SELECT 1 FROM batch_export_s3_parts WHERE run_id = $1`,
      [run.id],
    );
    expect(kept).toHaveLength(0);
  }, 300_000);
});
