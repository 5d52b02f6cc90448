import { randomUUID } from 'node:crypto';
import { log } from '@temporalio/activity';
import { streamCopyBatches } from '../../models/copy-stream';
import { copyColumnsQuery, countQuery } from '../../models/types';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { Destination, InsertAttempt } from '../contract';
import { createS3Client } from '../s3/client';
import { classifyS3Error } from '../s3/errors';
import type { Catalog } from './catalog';
import { openCatalog } from './catalogs';
import { commitInterval, loadTable, type IntervalRef, type TableContext } from './commit';
import { bucketConfig, tableLocation, type S3IcebergDestinationConfig } from './config';
import { writeDataFiles, type WrittenFile } from './data-files';
import { expireSnapshots } from './expire';
import { committedByRun, type Snapshot } from './metadata';
import { abortIntervalUploads, removeOrphanFiles } from './orphans';
import { keyOf } from './table-files';
import { attemptModelQuery } from '../attempt-query';

type IcebergAttempt = InsertAttempt<S3IcebergDestinationConfig>;

/**
 * Writes the interval's rows as Parquet data files under the table location, then commits them as one snapshot
 * through the catalog (see commitInterval). An attempt that finds its run's snapshot of the interval in the table
 * writes nothing: an earlier attempt committed, and died before it could report. A retried attempt otherwise
 * writes its files again: Parquet files cannot be continued, and the dead attempt's files are in no snapshot.
 */
export async function writeIntervalToIceberg(attempt: IcebergAttempt): Promise<InsertActivityResult> {
  const { input, config, settings } = attempt;
  const dataIntervalStart = new Date(input.dataIntervalStart);
  const dataIntervalEnd = new Date(input.dataIntervalEnd);
  const model = attemptModelQuery(attempt);
  const interval: IntervalRef = {
    start: dataIntervalStart.toISOString(),
    end: dataIntervalEnd.toISOString(),
    runId: input.runId,
    tag: intervalTag(dataIntervalStart, dataIntervalEnd),
  };
  const client = createS3Client(bucketConfig(config), settings.destinationAccess);
  let catalog: Catalog | undefined;
  try {
    catalog = await openCatalog(config, settings.destinationAccess);
    const location = tableLocation(config);
    const context: TableContext = { client, config, catalog, location, fields: model.fields, orderBy: model.orderBy };
    const table = await loadTable(context);
    const own = committedByRun(table.metadata, interval);
    if (own) {
      await attempt.log('INFO', `An earlier attempt committed the interval as snapshot ${own['snapshot-id']}`);
      return resultOf(own, [], null, table.location!);
    }
    if (attempt.number > 1) {
      // An earlier attempt may have died mid-file; this one writes under new names, so its upload is dead.
      const aborted = await abortIntervalUploads(client, config.bucket_name, table.metadata.location, interval.tag);
      if (aborted) await attempt.log('INFO', `Aborted ${aborted} unfinished upload(s) an earlier attempt left`);
    }
    let sourceRecords: number | null = null;
    const rows = streamCopyBatches(attempt.sourcePool, copyColumnsQuery(model), {
      batchBytes: settings.source.fileBatchBytes,
      batchRows: settings.source.batchSize,
      cursorWidth: 0,
      count: { query: countQuery(model), onCount: (count: number) => (sourceRecords = count) },
    });
    const files = await writeDataFiles({
      client,
      bucket: config.bucket_name,
      locationKey: keyOf(config.bucket_name, table.metadata.location),
      spec: table.spec,
      fields: model.fields,
      fieldIds: table.fieldIds,
      compression: config.compression,
      fileTag: `${interval.tag}-${randomUUID().slice(0, 8)}`,
      rows,
      partSizeBytes: settings.s3.partSizeBytes,
      signal: attempt.signal,
    });
    attempt.heartbeat({ files: files.length });
    attempt.signal.throwIfAborted();
    const committing = performance.now();
    const result = await commitInterval(context, { files, fieldIds: table.fieldIds }, interval);
    const commitMs = Math.round(performance.now() - committing);
    const { snapshot } = result;
    if (result.alreadyCommitted) {
      // A concurrent attempt of this run committed first; this attempt's files are in no snapshot.
      await attempt.log(
        'WARNING',
        `Another attempt of this run committed the interval as snapshot ${snapshot['snapshot-id']}`,
      );
      return resultOf(snapshot, [], sourceRecords, result.metadataLocation);
    }
    await attempt.log(
      'INFO',
      `Committed snapshot ${snapshot['snapshot-id']} (${snapshot.summary.operation}): ${snapshot.summary['added-records']} records in ${files.length} file(s)` +
        (result.deletedFiles
          ? `, replacing ${result.deletedFiles} file(s) an earlier export of the interval wrote`
          : '') +
        ` (commit took ${commitMs} ms)`,
    );
    if (config.max_snapshots) {
      const expiry = await expireSnapshots(
        context,
        { metadata: result.metadata, location: result.metadataLocation },
        config.max_snapshots,
      );
      if (expiry.expiredSnapshots) {
        await attempt.log(
          'INFO',
          `Expired ${expiry.expiredSnapshots} snapshot(s) beyond max_snapshots (${config.max_snapshots}), deleting ${expiry.deletedFiles} file(s) only they referenced`,
        );
      }
    }
    if (config.orphan_file_age_hours) {
      const orphans = await removeOrphanFiles(
        context,
        // Expiry may have committed again since; then the next interval's clean-up runs on that metadata.
        { metadata: result.metadata, location: result.metadataLocation },
        config.orphan_file_age_hours * 3_600_000,
      );
      if (orphans.deletedFiles) {
        await attempt.log(
          'INFO',
          `Deleted ${orphans.deletedFiles} data file(s) older than ${config.orphan_file_age_hours} h that no snapshot lists`,
        );
      }
    }
    log.info('Committed interval to Iceberg', {
      batch_export_id: input.batchExportId,
      run_id: input.runId,
      snapshot_id: snapshot['snapshot-id'],
      operation: snapshot.summary.operation,
    });
    return resultOf(snapshot, files, sourceRecords, result.metadataLocation);
  } catch (error) {
    throw classifyS3Error(error, { bucket: config.bucket_name });
  } finally {
    await catalog?.close();
    client.destroy();
  }
}

/**
 * After the run failed for good or was cancelled: aborts the unfinished uploads of the interval's data files (an
 * attempt killed mid-file leaves its upload behind). Finished files of uncommitted attempts are orphans for
 * `orphan_file_age_hours`.
 */
export const abortIcebergUploads: NonNullable<Destination<S3IcebergDestinationConfig>['cleanUpAfterFailure']> = async (
  attempt,
) => {
  const { input, config, settings } = attempt;
  const client = createS3Client(bucketConfig(config), settings.destinationAccess);
  try {
    const tag = intervalTag(new Date(input.dataIntervalStart), new Date(input.dataIntervalEnd));
    const aborted = await abortIntervalUploads(client, config.bucket_name, tableLocation(config), tag);
    if (aborted)
      log.info('Aborted unfinished uploads', { batch_export_id: input.batchExportId, run_id: input.runId, aborted });
  } finally {
    client.destroy();
  }
};

/** `20240901T100000Z_20240901T110000Z`: starts the name of every data file of the interval. */
export function intervalTag(start: Date, end: Date): string {
  const compact = (date: Date) =>
    date
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
  return `${compact(start)}_${compact(end)}`;
}

function resultOf(
  snapshot: Snapshot,
  files: readonly WrittenFile[],
  sourceRecords: number | null,
  metadataLocation: string,
): InsertActivityResult {
  const records = Number(snapshot.summary['added-records'] ?? 0);
  const bytes = Number(snapshot.summary['added-files-size'] ?? 0);
  return {
    recordsCompleted: records,
    bytesExported: bytes,
    receipt: {
      sourceRecords,
      recordsWritten: records,
      bytes,
      files: files.map((file) => ({ key: file.key, records: file.records, bytes: file.bytes, sha256: null })),
      manifestKey: metadataLocation,
    },
  };
}
