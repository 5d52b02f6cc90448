import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createDestinationDatabase } from '../helpers/destination-database';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createPostgresExport } from '../helpers/postgres-exports';
import { createBucket, listMultipartUploads, readJsonLinesGz, testS3Client } from '../helpers/s3';
import { createS3Export, finishedRun, intervalInput, runInterval } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

// Enough rows that the source COPY still streams when the first multipart upload has begun.
const EVENTS = 150_000;

describe('a worker whose Postgres connections are terminated mid-export', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '2000' } });
  let s3: S3Client;
  let teamId: number;
  let worker: WorkerProcess;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    // ~500 bytes of JSON per event, half of it hex noise that gzip cannot shrink: several 5 MiB parts.
    await stack.db.pool.query(
      `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at,
                           elements_chain, person_id, person_properties)
       SELECT gen_random_uuid(), '$pageview',
              json_build_object('n', i, 'noise', md5(i || 'a') || md5(i || 'b') || md5(i || 'c') || md5(i || 'd')),
              'user-' || (i % 5000), $1, t.at, t.at, t.at, '', gen_random_uuid(), '{}'
       FROM generate_series(1, $2::int) AS i,
            LATERAL (SELECT '2024-08-01 10:00:00+00'::timestamptz + i * interval '20 milliseconds') AS t(at)`,
      [teamId, EVENTS],
    );
    worker = spawnWorkerProcess(stack);
    await worker.waitFor('Worker started');
  });

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    s3?.destroy();
  });

  /** Terminates the backend running the worker's source COPY once it streams into an S3 upload; returns its pid. */
  async function terminateSourceCopy(bucket: string): Promise<number> {
    for (let i = 0; i < 1200; i++) {
      const { rows } = await stack.db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'batch-exports-worker'
           AND state = 'active' AND query LIKE 'COPY (%'`,
      );
      if (rows[0] && (await listMultipartUploads(s3, bucket)) > 0) {
        const { rows: terminated } = await stack.db.pool.query<{ done: boolean }>(
          'SELECT pg_terminate_backend($1) AS done',
          [rows[0].pid],
        );
        expect(terminated[0]?.done).toBe(true);
        return rows[0].pid;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('The export never streamed its source COPY into an upload');
  }

  it('fails the attempt at once, and the same process retries it: every row exactly once', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'gzip' });
    const workflowId = `${batchExport.id}-terminated`;
    const handle = await stack.temporal.workflow.start('s3-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      // A 60 s heartbeat timeout: finishing well within it proves the attempt failed at once, not by timing out.
      args: [
        intervalInput(batchExport.id, teamId, '2024-08-01T11:00:00Z', {
          heartbeatTimeoutSeconds: 60,
          initialIntervalSeconds: 1,
        }),
      ],
    });

    await terminateSourceCopy(bucket);
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    expect(worker.child.exitCode).toBeNull();
    expect(worker.output()).toContain('Lost the connection to the source database');
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 ORDER BY timestamp`,
      [result.runId],
    );
    expect(logs.map((log) => log.message)).toContain('Retrying the export (attempt 2)');
    const rows = await readJsonLinesGz(s3, bucket, '2024-08-01T10:00:00Z-2024-08-01T11:00:00Z.jsonl.gz');
    const uuids = rows.map((row) => row.uuid);
    const { rows: source } = await stack.db.pool.query<{ uuid: string }>(
      'SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY inserted_at, uuid',
      [teamId],
    );
    expect(uuids).toEqual(source.map((row) => row.uuid));
    expect(await finishedRun(stack, batchExport.id, workflowId)).toMatchObject({
      status: 'Completed',
      records_completed: EVENTS,
    });
  }, 240_000);

  it("fails the attempt when the destination's connection is terminated, and the retry completes it", async () => {
    const destination = await createDestinationDatabase();
    try {
      // Each committed batch takes at least 20 ms, so that the termination lands while the interval is written.
      await destination.pool.query(`
        CREATE TABLE slow_events (uuid uuid, event text, "timestamp" timestamptz);
        CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
        CREATE TRIGGER slow_down AFTER INSERT ON slow_events FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
      `);
      const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'slow_events' });
      const handle = await stack.temporal.workflow.start('postgres-export', {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: `${batchExport.id}-destination-terminated`,
        args: [
          intervalInput(batchExport.id, teamId, '2024-08-01T11:00:00Z', {
            heartbeatTimeoutSeconds: 60,
            initialIntervalSeconds: 1,
          }),
        ],
      });
      const exported = async () =>
        (await destination.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM slow_events')).rows[0]!.n;
      while ((await exported()) === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const { rows } = await destination.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'batch-exports'`,
      );
      expect(rows).toHaveLength(1);
      await destination.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);

      const result = await handle.result();

      expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
      const { rows: counts } = await destination.pool.query<{ n: number; distinct: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS distinct FROM slow_events',
      );
      expect(counts[0]).toEqual({ n: EVENTS, distinct: EVENTS });
      const { rows: logs } = await stack.db.pool.query<{ message: string }>(
        `SELECT message FROM batch_export_log_entries WHERE run_id = $1`,
        [result.runId],
      );
      expect(logs.map((log) => log.message)).toContain('Retrying the export (attempt 2)');
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await destination.drop();
    }
  }, 240_000);

  it('keeps serving: the next export on the same process completes', async () => {
    const { teamId: otherTeam } = await createTeam(stack.db.pool, 'After the loss');
    await insertEvents(stack.db.pool, [makeEvent(otherTeam, '2024-09-01T10:10:00Z')]);
    const noop = await createBatchExport(stack.services, otherTeam, {
      name: 'after',
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });

    const { run } = await runInterval(stack, 'noop-export', intervalInput(noop.id, otherTeam, '2024-09-01T11:00:00Z'));

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();
  }, 60_000);
});
