import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, waitForBackfill } from '../helpers/backfills';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam } from '../helpers/fixtures';
import { createIcebergExport, readIcebergTable } from '../helpers/iceberg';
import { createBucket, testS3Client } from '../helpers/s3';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

const HOURS = ['2024-09-01T11:00:00Z', '2024-09-01T12:00:00Z', '2024-09-01T13:00:00Z'];

describe('an S3Iceberg export', () => {
  const stack = useTestStack();
  let s3: S3Client;
  let catalog: DestinationDatabase;
  let teamId: number;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    catalog = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    // 300 events in each of the three hours (one every 12 s).
    await insertPageviews(stack.db.pool, teamId, 900, '2024-09-01 09:59:50+00', 12_000);
  });

  afterAll(async () => {
    s3?.destroy();
    await catalog?.drop();
  });

  async function sourceUuids(): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ uuid: string }>(
      `SELECT uuid::text FROM events WHERE team_id = $1 AND inserted_at >= '2024-09-01 10:00:00+00'
         AND inserted_at < '2024-09-01 13:00:00+00' ORDER BY uuid`,
      [teamId],
    );
    return rows.map((row) => row.uuid);
  }

  it('commits one snapshot per interval, and a backfill overwrites its intervals: every row exactly once', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createIcebergExport(stack, teamId, bucket, catalog);
    for (const end of HOURS) {
      const { result, run } = await runInterval(stack, 'batch-export', intervalInput(batchExport.id, teamId, end));
      expect(result?.status).toBe('Completed');
      expect(run.records_completed).toBe(300);
    }

    const first = await readIcebergTable(stack, catalog, 'analytics.events', ['uuid', 'inserted_at', 'event']);
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
    await insertPageviews(stack.db.pool, teamId, 50, '2024-09-01 11:00:00.5+00', 60_000);
    const backfill = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-09-01T11:00:00Z', end_at: '2024-09-01T13:00:00Z' },
    });
    expect((await waitForBackfill(stack, backfill)).status).toBe('Completed');

    const second = await readIcebergTable(stack, catalog, 'analytics.events', ['uuid', 'inserted_at', 'event']);
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
    // The earlier snapshots stay readable (time travel): the first append still holds the first hour only.
    expect(Number(second.snapshots[0]!.summary['total-records'])).toBe(300);
  });
});
