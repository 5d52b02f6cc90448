import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { updateBatchExport } from '../../src/service/batch-exports';
import type { BatchExportWorkflowInput } from '../../src/temporal/contracts';
import { eventually } from '../helpers/backfills';
import { createIcebergExport, ICEBERG_HOURS, readIcebergTable, useIcebergTestbed } from '../helpers/iceberg';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { createBucket } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess } from '../helpers/worker-process';

const HOURS = ICEBERG_HOURS;

/**
 * Workers killed (SIGKILL, like a machine dying) in the middle of an Iceberg commit: with every file written and the
 * catalog's conditional UPDATE waiting on a row lock the test holds, and after the UPDATE committed but before the
 * attempt could report (its next log line waits on a lock). Either way the retried attempt leaves the interval in
 * the table once, as one snapshot.
 */
describe('an S3Iceberg export whose worker is killed mid-commit', () => {
  const stack = useTestStack({ worker: false });
  const testbed = useIcebergTestbed(stack);

  function input(batchExportId: string, dataIntervalEnd: string): BatchExportWorkflowInput {
    return {
      batchExportId,
      teamId: testbed.teamId,
      interval: 'hour',
      timezone: 'UTC',
      dataIntervalEnd,
      // A dead worker is noticed after 2 s without a heartbeat.
      insertActivity: { heartbeatTimeoutSeconds: 2, initialIntervalSeconds: 1, maximumAttempts: 5 },
    };
  }

  function start(batchExportId: string, end: string) {
    return stack.temporal.workflow.start('batch-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExportId}-${end}`,
      args: [input(batchExportId, end)],
    });
  }

  /** A session holding the catalog row of the table locked, so that a commit's UPDATE waits. */
  async function lockCatalogRow(): Promise<Client> {
    const client = new Client({ ...testbed.catalog.connection });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('BEGIN');
    await client.query(`SELECT 1 FROM iceberg_tables WHERE table_name = 'events' FOR UPDATE`);
    return client;
  }

  /**
   * The backend pid of a statement (matching `like`) waiting on a lock in `database`, once there is one. Asked outside
   * any transaction: a transaction sees pg_stat_activity as it was when first read.
   */
  async function waitingStatement(database: string, like: string): Promise<number> {
    const rows = await eventually(
      async () =>
        (
          await stack.db.pool.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE $2`,
            [database, like],
          )
        ).rows,
      (found) => found.length > 0,
    );
    return rows[0]!.pid;
  }

  async function dataFiles(bucket: string): Promise<string[]> {
    const listed = await testbed.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'analytics/events/data/' }),
    );
    return (listed.Contents ?? []).map((object) => object.Key!);
  }

  /** An upload left unfinished under the table's data/, as an attempt killed mid-file leaves it. */
  async function leaveUnfinishedUpload(bucket: string, name: string): Promise<void> {
    const Key = `analytics/events/data/inserted_at_day=2024-09-01/${name}`;
    const { UploadId } = await testbed.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    await testbed.s3.send(
      new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }),
    );
  }

  async function unfinishedUploads(bucket: string): Promise<string[]> {
    const listed = await testbed.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return (listed.Uploads ?? []).map((upload) => upload.Key!.slice(upload.Key!.lastIndexOf('/') + 1)).sort();
  }

  it('retries the commit after a kill before the swap, and does nothing after a kill past it', async () => {
    const bucket = await createBucket(testbed.s3);
    // A safe bound: the killed attempt's file is younger than an hour, so clean-up keeps it until the bound shrinks.
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { orphan_file_age_hours: 1 },
    });
    const worker = await stack.startWorker();
    expect(await start(batchExport.id, HOURS[0]!).then((handle) => handle.result())).toMatchObject({
      status: 'Completed',
      recordsCompleted: 300,
    });
    await worker.stop();

    // 1. Killed with its UPDATE waiting: the dead machine's connection goes (terminated here), the commit never lands.
    const lock = await lockCatalogRow();
    const first = spawnWorkerProcess(stack);
    const second = await start(batchExport.id, HOURS[1]!);
    const blocked = await waitingStatement(testbed.catalog.connection.database, 'UPDATE iceberg_tables%');
    first.child.kill('SIGKILL');
    await first.exited;
    await lock.query('SELECT pg_terminate_backend($1)', [blocked]);
    await lock.query('ROLLBACK');
    await lock.end();
    const orphans = await dataFiles(bucket);
    expect(orphans).toHaveLength(2);
    // As if the killed attempt had also been mid-file: the retry aborts its interval's upload, not another interval's.
    await leaveUnfinishedUpload(bucket, '20240901T110000Z_20240901T120000Z-killed00-1.parquet');
    await leaveUnfinishedUpload(bucket, '20240901T150000Z_20240901T160000Z-inflight-0.parquet');
    const retrying = await stack.startWorker();
    expect(await second.result()).toMatchObject({ status: 'Completed', recordsCompleted: 300 });
    await retrying.stop();
    expect(await unfinishedUploads(bucket)).toEqual(['20240901T150000Z_20240901T160000Z-inflight-0.parquet']);

    // 2. Killed after its UPDATE committed, while its next log line waits on a lock of the log table.
    const catalogLock = await lockCatalogRow();
    const before = (await catalogLock.query(`SELECT metadata_location FROM iceberg_tables`)).rows[0].metadata_location;
    const third = spawnWorkerProcess(stack);
    const handle = await start(batchExport.id, HOURS[2]!);
    await waitingStatement(testbed.catalog.connection.database, 'UPDATE iceberg_tables%');
    const logLock = await stack.db.pool.connect();
    await logLock.query('BEGIN');
    await logLock.query('LOCK TABLE batch_export_log_entries IN EXCLUSIVE MODE');
    await catalogLock.query('ROLLBACK');
    const metadataDatabase = new URL(stack.db.url).pathname.slice(1);
    const logging = await waitingStatement(metadataDatabase, '%batch_export_log_entries%');
    const after = (await catalogLock.query(`SELECT metadata_location FROM iceberg_tables`)).rows[0].metadata_location;
    await catalogLock.end();
    expect(after).not.toBe(before);
    third.child.kill('SIGKILL');
    await third.exited;
    await logLock.query('SELECT pg_terminate_backend($1)', [logging]);
    await logLock.query('ROLLBACK');
    logLock.release();
    const finishing = await stack.startWorker();
    expect(await handle.result()).toMatchObject({ status: 'Completed', recordsCompleted: 300 });
    await finishing.stop();

    const runs = await listRuns(stack.db.pool, batchExport.id);
    const last = runs.find((run) => run.data_interval_end.toISOString() === new Date(HOURS[2]!).toISOString())!;
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND message LIKE 'An earlier attempt committed%'`,
      [last.id],
    );
    expect(logs).toHaveLength(1);

    const table = await readIcebergTable(stack, testbed.catalog, 'analytics.events', ['uuid']);
    expect(table.snapshots.map((snapshot) => snapshot.operation)).toEqual(['append', 'append', 'append']);
    expect(table.snapshots.map((snapshot) => snapshot.summary['batch-export.interval-end'])).toEqual(
      HOURS.map((end) => new Date(end).toISOString()),
    );
    const { rows: source } = await stack.db.pool.query<{ uuid: string }>(
      `SELECT uuid::text FROM events WHERE team_id = $1 ORDER BY uuid`,
      [testbed.teamId],
    );
    expect(source).toHaveLength(900);
    expect(table.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(source.map((row) => row.uuid));
    expect(table.duckdb.rows.map((row) => row.uuid).sort()).toEqual(source.map((row) => row.uuid));
    // The killed attempt's data file is in no snapshot: readers never see it, and clean-up (1 h bound) keeps it.
    expect(table.files).toHaveLength(3);
    const withOrphan = await dataFiles(bucket);
    expect(withOrphan).toHaveLength(4);

    // With a bound the orphan (and a stray file planted in a partition) are older than, the next commit deletes them
    // and keeps every file a snapshot lists, including a file only an older snapshot lists (the overwrite's victim).
    const stray = 'analytics/events/data/inserted_at_day=2024-08-31/stray.parquet';
    await testbed.s3.send(new PutObjectCommand({ Bucket: bucket, Key: stray, Body: 'not parquet' }));
    await updateBatchExport(
      stack.services,
      [testbed.teamId],
      batchExport.id,
      { destination: { type: 'S3Iceberg', config: { orphan_file_age_hours: 0.0005 } } },
      { replace: false, actor: 'test' },
    );
    const cleaning = await stack.startWorker();
    // Wait until the stray file is older than the bound (1.8 s); then rerun the first hour (an overwrite).
    await eventually(
      async () => (await testbed.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: stray }))).Contents,
      (listed) => Date.now() - listed![0]!.LastModified!.getTime() > 2_000,
    );
    expect(
      (await runInterval(stack, 'batch-export', intervalInput(batchExport.id, testbed.teamId, HOURS[0]!))).result
        ?.status,
    ).toBe('Completed');
    await cleaning.stop();
    const cleaned = await readIcebergTable(stack, testbed.catalog, 'analytics.events', ['uuid']);
    expect(cleaned.snapshots.map((snapshot) => snapshot.operation)).toEqual([
      'append',
      'append',
      'append',
      'overwrite',
    ]);
    expect(cleaned.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(source.map((row) => row.uuid));
    expect(cleaned.duckdb.rows.map((row) => row.uuid).sort()).toEqual(source.map((row) => row.uuid));
    const remaining = await dataFiles(bucket);
    const killedFile = withOrphan.find((key) => !table.files.some((file) => file.path.endsWith(key)));
    expect(killedFile).toMatch(/20240901T110000Z_20240901T120000Z-/);
    expect(remaining).not.toContain(killedFile);
    expect(remaining).not.toContain(stray);
    // The 3 files of the first table, all still listed by its 3 snapshots, and the rerun's new file.
    expect(remaining).toHaveLength(4);
    for (const file of table.files) expect(remaining.some((key) => file.path.endsWith(key))).toBe(true);
  });
});
