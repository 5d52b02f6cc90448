import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { startS3Recorder } from '../helpers/s3-recorder';
import { createBucket, listKeys, listMultipartUploads, testS3Client } from '../helpers/s3';
import { createS3Export, finishedRun, intervalInput, runInterval } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';

const QUICK_RETRIES = { initialIntervalSeconds: 1, backoffCoefficient: 1, maximumAttempts: 3 };

describe('S3 export failures', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '1000' } });
  let s3: S3Client;
  let teamId: number;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-10-01T10:15:00Z')]);
  });

  afterAll(async () => {
    s3?.destroy();
  });

  async function logsOf(runId: string) {
    const { rows } = await stack.db.pool.query<{ level: string; message: string }>(
      'SELECT level, message FROM batch_export_log_entries WHERE run_id = $1 ORDER BY timestamp',
      [runId],
    );
    return rows;
  }

  it('retries an unreachable endpoint with backoff and ends FailedRetryable when the attempts run out', async () => {
    // Nothing listens on port 1: every request is refused, as by a store that is down.
    const batchExport = await createS3Export(stack, teamId, 'some-bucket', { endpoint_url: 'http://127.0.0.1:1' });

    const { error, run } = await runInterval(
      stack,
      's3-export',
      intervalInput(batchExport.id, teamId, '2024-10-01T11:00:00Z', QUICK_RETRIES),
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(run.status).toBe('FailedRetryable');
    expect(run.latest_error).toContain('Could not reach S3');
    const logs = await logsOf(run.id);
    const failed = (attempt: number, next: string) =>
      expect.stringMatching(
        new RegExp(`^Attempt ${attempt} of 3 failed: Could not reach S3 .*ECONNREFUSED.*; ${next}`),
      );
    expect(logs.filter((log) => log.level === 'WARNING').map((log) => log.message)).toEqual([
      failed(1, 'next attempt at '),
      'Retrying the export (attempt 2)',
      failed(2, 'next attempt at '),
      'Retrying the export (attempt 3)',
      failed(3, 'no attempt left$'),
    ]);
    expect(logs.filter((log) => log.level === 'ERROR')).toHaveLength(1);
  });

  it('fails a Parquet export at once, without retrying, when the bucket does not exist', async () => {
    const batchExport = await createS3Export(stack, teamId, 'bucket-that-was-never-created', {
      file_format: 'Parquet',
      compression: 'zstd',
    });

    const { run } = await runInterval(
      stack,
      's3-export',
      intervalInput(batchExport.id, teamId, '2024-10-01T11:00:00Z', QUICK_RETRIES),
    );

    expect(run.status).toBe('Failed');
    expect(run.latest_error).toBe(
      // An interval exported by hand is rewritten: its first request lists what an earlier export wrote under the
      // interval's key prefix.
      'The bucket does not exist: check bucket_name (and region) (NoSuchBucket on bucket "bucket-that-was-never-created", key "2024-10-01T10:00:00Z-2024-10-01T11:00:00Z")',
    );
    expect((await logsOf(run.id)).filter((log) => log.level === 'WARNING')).toEqual([]);
  });

  it('ends Cancelled when cancelled mid-export, leaving no unfinished upload and no manifest', async () => {
    await stack.db.pool.query(
      `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at,
                           elements_chain, person_id, person_properties)
       SELECT gen_random_uuid(), '$pageview', json_build_object('noise', md5(i || 'a') || md5(i || 'b') || md5(i || 'c')),
              'user', $1, t.at, t.at, t.at, '', NULL, '{}'
       FROM generate_series(1, 100000) AS i,
            LATERAL (SELECT '2024-10-02 10:00:00+00'::timestamptz + i * interval '30 milliseconds') AS t(at)`,
      [teamId],
    );
    // The export's first part is held at the S3 proxy until the attempt knows it is cancelled: mid-export, whatever
    // the machine's speed.
    const recorder = await startS3Recorder(stack.s3Endpoint);
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    recorder.beforeRelay = (request) => {
      if (request.partNumber !== 1) return;
      held = true;
      return released;
    };
    try {
      const bucket = await createBucket(s3);
      const batchExport = await createS3Export(stack, teamId, bucket, {
        compression: 'gzip',
        endpoint_url: recorder.endpoint,
      });
      const workflowId = `${batchExport.id}-cancelled`;
      const handle = await stack.temporal.workflow.start('s3-export', {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId,
        args: [intervalInput(batchExport.id, teamId, '2024-10-02T11:00:00Z', { heartbeatTimeoutSeconds: 3 })],
      });
      for (let i = 0; i < 600 && !held; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(held).toBe(true);
      const cancelledAt = Date.now();
      await handle.cancel();
      // The attempt learns of the cancellation in the answer to a heartbeat sent after it, and the SDK hands it on
      // a moment later: wait until a heartbeat a whole heartbeat timeout (3 s) after the cancellation reached the
      // server, so that an earlier one has carried it to the attempt.
      for (let i = 0; i < 600; i++) {
        const { raw } = await handle.describe();
        const beat = raw.pendingActivities?.[0]?.lastHeartbeatTime?.seconds;
        if (beat !== undefined && beat !== null && Number(beat) * 1000 > cancelledAt + 3000) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      release();

      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const run = await finishedRun(stack, batchExport.id, workflowId);
      expect(run.status).toBe('Cancelled');
      expect(run.records_completed).toBeNull();
      expect(await listMultipartUploads(s3, bucket)).toBe(0);
      expect(await listKeys(s3, bucket)).toEqual([]);
    } finally {
      release();
      await recorder.close();
    }
  });
});
