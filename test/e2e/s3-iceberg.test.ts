import { describe, expect, it } from 'vitest';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { freePort } from '../../src/dev/ports';
import { createBackfill } from '../../src/service/backfills';
import { updateBatchExport } from '../../src/service/batch-exports';
import { backfillDeps, waitForBackfill } from '../helpers/backfills';
import { createIcebergExport, ICEBERG_HOURS, readIcebergTable, useIcebergTestbed } from '../helpers/iceberg';
import { createBucket, listKeys } from '../helpers/s3';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

const HOURS = ICEBERG_HOURS;

describe('an S3Iceberg export', () => {
  const stack = useTestStack();
  const testbed = useIcebergTestbed(stack);

  async function sourceUuids(): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      `SELECT uuid::text FROM events WHERE team_id = $1 AND inserted_at >= '2024-09-01 10:00:00+00'
         AND inserted_at < '2024-09-01 13:00:00+00' ORDER BY uuid`,
      [testbed.teamId],
    );
    return rows.map((row) => row.uuid);
  }

  it('commits one snapshot per interval, and a backfill overwrites its intervals: every row exactly once', async () => {
    const bucket = await createBucket(testbed.s3);
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { metadata_previous_versions_max: 2 },
    });
    for (const end of HOURS) {
      const { result, run } = await runInterval(
        stack,
        'batch-export',
        intervalInput(batchExport.id, testbed.teamId, end),
      );
      expect(result?.status).toBe('Completed');
      expect(run.records_completed).toBe(300);
    }

    const first = await readIcebergTable(stack, testbed.catalog, 'analytics.events', ['uuid', 'inserted_at', 'event']);
    expect(first.snapshots.map((snapshot) => snapshot.operation)).toEqual(['append', 'append', 'append']);
    expect(first.snapshots.map((snapshot) => snapshot.summary['batch-export.interval-end'])).toEqual(
      HOURS.map((end) => new Date(end).toISOString()),
    );
    expect(first.schema.find((field) => field.name === 'inserted_at')?.type).toBe('timestamptz');
    expect(first.spec).toEqual([{ name: 'inserted_at_day', transform: 'day', source: 'inserted_at' }]);
    expect(first.sortOrder).toEqual(['inserted_at', 'uuid']);
    const expected = await sourceUuids();
    expect(first.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(expected);
    expect(first.duckdb.rows.map((row) => row.uuid).sort()).toEqual(expected);
    // One file per interval, all in the day's partition: days since 1970-01-01.
    const day = Date.UTC(2024, 8, 1) / 86_400_000;
    expect(first.files.map((file) => [file.records, file.partition])).toEqual(HOURS.map(() => [300, [day]]));

    // Late rows arrive in the second and third hours; a backfill over them replaces those intervals' files.
    await insertPageviews(stack.db.pool, testbed.teamId, 50, '2024-09-01 11:00:00.5+00', 60_000);
    const backfill = await createBackfill(backfillDeps(stack), {
      teamId: testbed.teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-09-01T11:00:00Z', end_at: '2024-09-01T13:00:00Z' },
    });
    expect((await waitForBackfill(stack, backfill)).status).toBe('Completed');

    const second = await readIcebergTable(stack, testbed.catalog, 'analytics.events', ['uuid', 'inserted_at', 'event']);
    expect(second.snapshots.map((snapshot) => snapshot.operation)).toEqual([
      'append',
      'append',
      'append',
      'overwrite',
      'overwrite',
    ]);
    for (const overwrite of second.snapshots.slice(3)) {
      expect(Number(overwrite.summary['deleted-records'])).toBe(300);
    }
    const after = await sourceUuids();
    expect(after).toHaveLength(950);
    expect(second.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(after);
    expect(second.duckdb.rows.map((row) => row.uuid).sort()).toEqual(after);
    // Five commits, and the metadata files beyond the two previous versions were deleted.
    expect(second.metadataLog).toBe(2);
    const metadataFiles = (await listKeys(testbed.s3, bucket)).filter((key) => key.endsWith('.metadata.json'));
    expect(metadataFiles).toHaveLength(3);
    // The earlier snapshots stay readable (time travel): the first append still holds the first hour only.
    expect(Number(second.snapshots[0]!.summary['total-records'])).toBe(300);
  });

  it('adds a column when the hogql_query selects a new field: a new schema id, older files read it as null', async () => {
    const bucket = await createBucket(testbed.s3);
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      hogqlQuery: 'SELECT uuid, event, inserted_at FROM events',
      config: { table_name: 'pageviews' },
    });
    const run = (end: string) => runInterval(stack, 'batch-export', intervalInput(batchExport.id, testbed.teamId, end));
    expect((await run(HOURS[0]!)).result?.status).toBe('Completed');
    await updateBatchExport(
      stack.services,
      [testbed.teamId],
      batchExport.id,
      { hogql_query: 'SELECT uuid, event, inserted_at, distinct_id FROM events' },
      { replace: false, actor: 'test' },
    );
    expect((await run(HOURS[1]!)).result?.status).toBe('Completed');

    const table = await readIcebergTable(stack, testbed.catalog, 'analytics.pageviews', ['uuid', 'distinct_id']);
    expect(table.schemaIds).toEqual([0, 1]);
    expect(table.schema.map((field) => [field.id, field.name])).toEqual([
      [1, 'uuid'],
      [2, 'event'],
      [3, 'inserted_at'],
      [4, 'distinct_id'],
    ]);
    const { rows: source } = await stack.db.pool.query<{ uuid: string; distinct_id: string; second: boolean }>(
      `SELECT uuid::text, distinct_id, inserted_at >= '2024-09-01 11:00:00+00' AS second FROM events
       WHERE team_id = $1 AND inserted_at >= '2024-09-01 10:00:00+00' AND inserted_at < '2024-09-01 12:00:00+00'`,
      [testbed.teamId],
    );
    // Rows of the first interval were written before the column existed: both readers give them null.
    const expected = source
      .map((row) => ({ uuid: row.uuid, distinct_id: row.second ? row.distinct_id : null }))
      .sort((a, b) => a.uuid.localeCompare(b.uuid));
    const sorted = (rows: Array<Record<string, unknown>>) =>
      rows
        .map(({ uuid, distinct_id }) => ({ uuid, distinct_id }))
        .sort((a, b) => String(a.uuid).localeCompare(String(b.uuid)));
    expect(expected.length).toBeGreaterThanOrEqual(600);
    expect(sorted(table.pyiceberg.rows)).toEqual(expected);
    expect(sorted(table.duckdb.rows)).toEqual(expected);
  });

  it('commits through AWS Glue, with the table parameters engines read', async () => {
    const bucket = await createBucket(testbed.s3);
    // moto's Glue is shared by every test file: a database of this test's own.
    const namespace = `glue_${bucket.replace(/-/g, '_')}`;
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { catalog_type: 'glue', glue_endpoint_url: stack.s3Endpoint, namespace },
    });
    const run = (end: string) => runInterval(stack, 'batch-export', intervalInput(batchExport.id, testbed.teamId, end));
    for (const end of HOURS) expect((await run(end)).result?.status).toBe('Completed');
    // Run again, the last interval is replaced in an overwrite.
    expect((await run(HOURS[2]!)).result?.status).toBe('Completed');

    const glue = new GlueClient({
      endpoint: stack.s3Endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing-secret' },
    });
    const { Table } = await glue.send(new GetTableCommand({ DatabaseName: namespace, Name: 'events' }));
    glue.destroy();
    expect(Table?.Parameters).toMatchObject({ table_type: 'ICEBERG' });
    expect(Table?.Parameters?.metadata_location).toMatch(/^s3:\/\/.*\/metadata\/00003-.*\.metadata\.json$/);
    expect(Table?.Parameters?.previous_metadata_location).toMatch(/\/metadata\/00002-.*\.metadata\.json$/);

    const table = await readIcebergTable(stack, 'glue', `${namespace}.events`, ['uuid']);
    expect(table.snapshots.map((snapshot) => snapshot.operation)).toEqual(['append', 'append', 'append', 'overwrite']);
    const source = await sourceUuids();
    expect(table.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(source);
    expect(table.duckdb.rows.map((row) => row.uuid).sort()).toEqual(source);
  });

  it('commits an empty interval as a snapshot with no files', async () => {
    const bucket = await createBucket(testbed.s3);
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { table_name: 'quiet' },
    });
    const input = intervalInput(batchExport.id, testbed.teamId, '2024-09-02T05:00:00Z');
    const { result, run } = await runInterval(stack, 'batch-export', input);
    expect(result?.status).toBe('Completed');
    expect(run.records_completed).toBe(0);
    const table = await readIcebergTable(stack, testbed.catalog, 'analytics.quiet', ['uuid']);
    expect(table.snapshots).toHaveLength(1);
    expect(table.snapshots[0]).toMatchObject({ operation: 'append' });
    expect(table.snapshots[0]!.summary).toMatchObject({ 'added-records': '0', 'total-records': '0' });
    expect(table.pyiceberg.rows).toEqual([]);
    expect(table.files).toEqual([]);
  });

  it('expires snapshots beyond max_snapshots and deletes the files only they referenced', async () => {
    const bucket = await createBucket(testbed.s3);
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { table_name: 'expiring', max_snapshots: 2 },
    });
    const run = (end: string) => runInterval(stack, 'batch-export', intervalInput(batchExport.id, testbed.teamId, end));
    for (const end of HOURS) expect((await run(end)).result?.status).toBe('Completed');
    const dataFiles = async () =>
      (await listKeys(testbed.s3, bucket)).filter((key) => key.includes('/data/') && key.endsWith('.parquet'));
    const before = await dataFiles();
    expect(before).toHaveLength(3);
    // Run the middle hour again (an overwrite), then an empty hour: the kept snapshots are those two, and the middle
    // hour's first file is live only in expired ones.
    expect((await run(HOURS[1]!)).result?.status).toBe('Completed');
    expect((await run('2024-09-01T14:00:00Z')).result?.status).toBe('Completed');

    const table = await readIcebergTable(stack, testbed.catalog, 'analytics.expiring', ['uuid']);
    expect(table.snapshots.map((snapshot) => snapshot.operation)).toEqual(['overwrite', 'append']);
    const source = await sourceUuids();
    expect(table.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(source);
    expect(table.duckdb.rows.map((row) => row.uuid).sort()).toEqual(source);
    const after = await dataFiles();
    expect(after).toHaveLength(3);
    expect(after.filter((key) => before.includes(key))).toHaveLength(2);
    const manifestLists = (await listKeys(testbed.s3, bucket)).filter((key) => /\/snap-\d+-/.test(key));
    expect(manifestLists).toHaveLength(2);
  });

  it("aborts the interval's unfinished uploads when the run fails for good, and no other interval's", async () => {
    const bucket = await createBucket(testbed.s3);
    // A catalog port nothing listens on: the attempt fails (retryably, so the run's clean-up runs) before writing.
    const batchExport = await createIcebergExport(stack, testbed.teamId, bucket, testbed.catalog, {
      config: { table_name: 'failing', catalog_port: await freePort() },
    });
    for (const name of [
      '20240901T100000Z_20240901T110000Z-killed00-0',
      '20240901T110000Z_20240901T120000Z-other000-0',
    ]) {
      await testbed.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: `analytics/failing/data/inserted_at_day=2024-09-01/${name}.parquet`,
        }),
      );
    }
    const { run } = await runInterval(
      stack,
      'batch-export',
      intervalInput(batchExport.id, testbed.teamId, HOURS[0]!, {
        maximumAttempts: 1,
        initialIntervalSeconds: 1,
        heartbeatTimeoutSeconds: 10,
      }),
    );
    expect(run.status).toBe('FailedRetryable');
    const listed = await testbed.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((listed.Uploads ?? []).map((upload) => upload.Key)).toEqual([
      'analytics/failing/data/inserted_at_day=2024-09-01/20240901T110000Z_20240901T120000Z-other000-0.parquet',
    ]);
  });
});
