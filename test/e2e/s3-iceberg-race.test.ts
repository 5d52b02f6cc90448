import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildModelQuery } from '../../src/models';
import { streamCopyBatches } from '../../src/models/copy-stream';
import { copyColumnsQuery } from '../../src/models/types';
import { createS3Client } from '../../src/destinations/s3/client';
import { openSqlCatalog, type Catalog } from '../../src/destinations/s3-iceberg/catalog';
import {
  commitInterval,
  loadTable,
  type IntervalRef,
  type TableContext,
} from '../../src/destinations/s3-iceberg/commit';
import { bucketConfig, S3IcebergDestinationConfig, tableLocation } from '../../src/destinations/s3-iceberg/config';
import { writeDataFiles, type WrittenFile } from '../../src/destinations/s3-iceberg/data-files';
import { keyOf } from '../../src/destinations/s3-iceberg/table-files';
import { intervalTag } from '../../src/destinations/s3-iceberg/write-interval';
import { ICEBERG_HOURS, readIcebergTable, testIcebergDestination, useIcebergTestbed } from '../helpers/iceberg';
import { createBucket, listKeys } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';

const HOURS = ICEBERG_HOURS;

/**
 * Two writers race to commit: writer A's catalog is the real SQL catalog with one decoration, that on A's first swap
 * writer B's whole commit (of another interval) runs first. Every call still goes to the real catalog, so A's
 * conditional UPDATE finds the table moved on and fails; A then re-reads and commits on top of B's snapshot.
 */
describe('two S3Iceberg writers racing to commit', () => {
  const stack = useTestStack({ worker: false });
  const testbed = useIcebergTestbed(stack);

  it('the writer that lost the swap deletes its try and commits again on the winner’s metadata', async () => {
    const bucket = await createBucket(testbed.s3);
    const config = S3IcebergDestinationConfig.parse(testIcebergDestination(stack, bucket, testbed.catalog).config);
    const access = stack.config.destinationAccess;
    const client = createS3Client(bucketConfig(config), access);
    const catalogs: Catalog[] = [];
    const open = async () => {
      const catalog = await openSqlCatalog(config, access);
      catalogs.push(catalog);
      return catalog;
    };

    /** One writer of one interval: its own catalog connection, its data files written as write-interval.ts does. */
    const writer = async (catalog: Catalog, end: string) => {
      const dataIntervalEnd = new Date(end);
      const dataIntervalStart = new Date(dataIntervalEnd.getTime() - 3_600_000);
      const model = buildModelQuery({
        batchExport: { team_id: testbed.teamId, model: 'events', hogql_query: null, filters: null },
        dataIntervalStart,
        dataIntervalEnd,
      });
      const context: TableContext = {
        client,
        config,
        catalog,
        location: tableLocation(config),
        fields: model.fields,
        orderBy: model.orderBy,
      };
      const interval: IntervalRef = {
        start: dataIntervalStart.toISOString(),
        end: dataIntervalEnd.toISOString(),
        runId: randomUUID(),
        tag: intervalTag(dataIntervalStart, dataIntervalEnd),
      };
      const table = await loadTable(context);
      const files: WrittenFile[] = await writeDataFiles({
        client,
        bucket,
        locationKey: keyOf(bucket, table.metadata.location),
        spec: table.spec,
        fields: model.fields,
        fieldIds: table.fieldIds,
        compression: config.compression,
        fileTag: `${interval.tag}-${randomUUID().slice(0, 8)}`,
        rows: streamCopyBatches(stack.db.pool, copyColumnsQuery(model), {
          batchBytes: stack.config.source.batchBytes,
          batchRows: stack.config.source.batchSize,
          cursorWidth: 0,
        }),
        partSizeBytes: stack.config.s3.partSizeBytes,
      });
      return { commit: () => commitInterval(context, { files, fieldIds: table.fieldIds }, interval), files };
    };

    try {
      // The table exists: the race is on the catalog's conditional UPDATE, not the INSERT that creates it.
      const first = await (await writer(await open(), HOURS[0]!)).commit();

      const real = await open();
      const b = await writer(await open(), HOURS[2]!);
      let swaps = 0;
      let bCommit: Awaited<ReturnType<typeof b.commit>> | undefined;
      let lostTry: string[] = [];
      const keysBefore = new Set(await listKeys(testbed.s3, bucket));
      const raced: Catalog = {
        currentMetadataLocation: () => real.currentMetadataLocation(),
        async swapMetadataLocation(expected, next, metadata) {
          swaps++;
          if (swaps === 1) {
            // A's first try is written, its swap not yet made: what it wrote since A started committing.
            lostTry = (await listKeys(testbed.s3, bucket)).filter((key) => !keysBefore.has(key));
            bCommit = await b.commit();
          }
          return real.swapMetadataLocation(expected, next, metadata);
        },
        close: () => real.close(),
      };
      const a = await writer(raced, HOURS[1]!);
      // A's data files were written before its commit; only the commit's own files are the try's.
      for (const file of a.files) keysBefore.add(file.key);
      const aCommit = await a.commit();

      expect(swaps).toBe(2);
      expect(bCommit!.alreadyCommitted).toBe(false);
      expect(aCommit.alreadyCommitted).toBe(false);
      // B's snapshot is on top of the first, A's on top of B's.
      expect(bCommit!.snapshot['parent-snapshot-id']).toBe(first.snapshot['snapshot-id']);
      expect(aCommit.snapshot['parent-snapshot-id']).toBe(bCommit!.snapshot['snapshot-id']);
      expect(aCommit.metadataLocation).toMatch(/\/metadata\/00002-[^/]*\.metadata\.json$/);
      expect(await real.currentMetadataLocation()).toBe(aCommit.metadataLocation);

      // The lost try wrote a manifest, a manifest list and a metadata file (version 1, like B’s): all deleted.
      expect(lostTry.filter((key) => /\/metadata\/[^/]*-m0\.avro$/.test(key))).toHaveLength(1);
      expect(lostTry.filter((key) => /\/metadata\/snap-[^/]*\.avro$/.test(key))).toHaveLength(1);
      expect(lostTry.filter((key) => /\/metadata\/00001-[^/]*\.metadata\.json$/.test(key))).toHaveLength(1);
      expect(lostTry).toHaveLength(3);
      const keysAfter = new Set(await listKeys(testbed.s3, bucket));
      for (const key of lostTry) expect(keysAfter.has(key), key).toBe(false);
      // What A's winning try and B committed is there.
      for (const location of [aCommit.metadataLocation, aCommit.snapshot['manifest-list'], bCommit!.metadataLocation]) {
        expect(keysAfter.has(keyOf(bucket, location)), location).toBe(true);
      }

      const table = await readIcebergTable(stack, testbed.catalog, 'analytics.events', ['uuid']);
      expect(table.snapshots.map((snapshot) => [snapshot.id, snapshot.parent, snapshot.operation])).toEqual([
        [first.snapshot['snapshot-id'], null, 'append'],
        [bCommit!.snapshot['snapshot-id'], first.snapshot['snapshot-id'], 'append'],
        [aCommit.snapshot['snapshot-id'], bCommit!.snapshot['snapshot-id'], 'append'],
      ]);
      expect(table.currentSnapshot).toBe(aCommit.snapshot['snapshot-id']);
      expect(table.snapshots.map((snapshot) => snapshot.summary['batch-export.interval-end'])).toEqual(
        [HOURS[0]!, HOURS[2]!, HOURS[1]!].map((end) => new Date(end).toISOString()),
      );
      expect(Number(table.snapshots[2]!.summary['total-records'])).toBe(900);

      const { rows } = await stack.db.pool.query<{ uuid: string }>(
        `SELECT uuid::text FROM events WHERE team_id = $1 AND inserted_at >= '2024-09-01 10:00:00+00'
           AND inserted_at < '2024-09-01 13:00:00+00' ORDER BY uuid`,
        [testbed.teamId],
      );
      const expected = rows.map((row) => row.uuid);
      expect(expected).toHaveLength(900);
      // Every row of the three intervals exactly once, to both readers.
      expect(table.pyiceberg.rows.map((row) => row.uuid).sort()).toEqual(expected);
      expect(table.duckdb.rows.map((row) => row.uuid).sort()).toEqual(expected);
    } finally {
      await Promise.all(catalogs.map((catalog) => catalog.close()));
      client.destroy();
    }
  });
});
