import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { BatchExportError } from '../../errors';
import type { ModelField } from '../../models/types';
import type { Catalog } from './catalog';
import type { S3IcebergDestinationConfig } from './config';
import type { WrittenFile } from './data-files';
import {
  decodeManifest,
  decodeManifestList,
  encodeManifest,
  encodeManifestList,
  manifestFileRecord,
  type ManifestEntry,
  type ManifestFile,
} from './manifests';
import {
  committedByRun,
  metadataFileName,
  newSnapshotId,
  newTableMetadata,
  PREVIOUS_VERSIONS_MAX,
  SUMMARY_INTERVAL_END,
  SUMMARY_INTERVAL_START,
  SUMMARY_RUN_ID,
  withSnapshot,
  type Snapshot,
  type TableMetadata,
} from './metadata';
import {
  fieldIds,
  partitionSpecFor,
  schemaFor,
  sortOrderFor,
  transformTimestamp,
  type IcebergSchema,
  type PartitionSpec,
} from './schema';
import { deleteFiles, getFile, putFile } from './table-files';

/** Commits lost to another writer before the attempt gives up (and the activity retries it). */
const MAX_COMMIT_TRIES = 10;

export interface IntervalRef {
  /** ISO 8601, as recorded in snapshot summaries. */
  start: string;
  end: string;
  runId: string;
  /** Starts the name of every data file of the interval: how a later export finds them to replace them. */
  tag: string;
}

/** The table as a commit sees it: where its metadata is, and what it says. */
export interface TableState {
  location: string | null;
  metadata: TableMetadata;
  /** The schema the interval's rows are written with (current, or evolved for new fields), and its spec. */
  schema: IcebergSchema;
  lastColumnId: number;
  spec: PartitionSpec;
  fieldIds: number[];
}

export interface TableContext {
  client: S3Client;
  config: S3IcebergDestinationConfig;
  catalog: Catalog;
  /** `s3://bucket/...`, the table location used when the table is created. */
  location: string;
  fields: readonly ModelField[];
  orderBy: readonly string[];
}

/** The table's current state in the catalog (a new, empty table when the catalog has none), with the interval's schema. */
export async function loadTable(context: TableContext): Promise<TableState> {
  const { client, config, catalog } = context;
  const location = await catalog.currentMetadataLocation();
  let metadata: TableMetadata;
  if (location) {
    metadata = JSON.parse((await getFile(client, config.bucket_name, location)).toString('utf8')) as TableMetadata;
  } else {
    const { schema, lastColumnId } = schemaFor(context.fields, null, 0);
    metadata = newTableMetadata({
      location: context.location,
      schema,
      lastColumnId,
      spec: partitionSpecFor(schema, config.partition_by),
      sortOrder: sortOrderFor(schema, context.orderBy),
      properties: {
        [PREVIOUS_VERSIONS_MAX]: String(config.metadata_previous_versions_max),
        'write.metadata.delete-after-commit.enabled': 'true',
        'write.parquet.compression-codec': config.compression,
      },
    });
  }
  // The bound set on the export wins over the one the table was created with.
  metadata.properties = {
    ...metadata.properties,
    [PREVIOUS_VERSIONS_MAX]: String(config.metadata_previous_versions_max),
  };
  const current = metadata.schemas.find((schema) => schema['schema-id'] === metadata['current-schema-id']) ?? null;
  const { schema, lastColumnId } = schemaFor(context.fields, current, metadata['last-column-id']);
  const spec = metadata['partition-specs'].find((candidate) => candidate['spec-id'] === metadata['default-spec-id'])!;
  return { location, metadata, schema, lastColumnId, spec, fieldIds: fieldIds(context.fields, schema) };
}

export interface CommitResult {
  snapshot: Snapshot;
  metadataLocation: string;
  /** The metadata at metadataLocation. */
  metadata: TableMetadata;
  /** True when this run had committed the interval already (an attempt that died after its commit). */
  alreadyCommitted: boolean;
  deletedFiles: number;
  /** Metadata files pruned after the commit (beyond write.metadata.previous-versions-max). */
  prunedMetadataFiles: number;
}

/**
 * Commits the interval's data files as one snapshot (spec "Snapshots", "Overwrite"): an `append`, or an `overwrite`
 * when the table already holds files of the interval (a backfill, or another run of it), whose files it deletes in
 * the same snapshot, so readers see the interval's rows once, old or new, never both or neither. Built on the
 * catalog's current metadata and swapped in conditionally; a commit that lost the race is built again on the
 * winner's metadata. A run that finds its own snapshot of the interval in the table commits nothing.
 */
export async function commitInterval(
  context: TableContext,
  written: { files: readonly WrittenFile[]; fieldIds: readonly number[] },
  interval: IntervalRef,
): Promise<CommitResult> {
  const { client, config, catalog } = context;
  const bucket = config.bucket_name;
  for (let tries = 1; ; tries++) {
    const table = await loadTable(context);
    const { metadata } = table;
    const own = committedByRun(metadata, interval);
    if (own) {
      return {
        snapshot: own,
        metadataLocation: table.location!,
        metadata,
        alreadyCommitted: true,
        deletedFiles: 0,
        prunedMetadataFiles: 0,
      };
    }
    if (table.fieldIds.join() !== written.fieldIds.join()) {
      // Another export changed the schema since the files were written: their column ids would be wrong.
      throw new BatchExportError('The Iceberg table schema changed while the interval was written: writing again', {
        kind: 'transient',
      });
    }
    const snapshotId = newSnapshotId(metadata);
    const sequenceNumber = metadata['last-sequence-number'] + 1;
    const parent = metadata['current-snapshot-id'] === -1 ? null : metadata['current-snapshot-id'];
    const previousManifests = parent === null ? [] : await currentManifests(context, metadata, parent);
    const kept = await replaceIntervalFiles(context, table, previousManifests, interval, {
      snapshotId,
      sequenceNumber,
    });
    const sortOrderId = metadata['default-sort-order-id'];
    const added: ManifestEntry[] = written.files.map((file) => ({
      status: 1,
      snapshot_id: snapshotId,
      // Added files inherit the snapshot's sequence number from the manifest list (spec "Sequence Number Inheritance").
      sequence_number: null,
      file_sequence_number: null,
      data_file: {
        content: 0,
        file_path: file.path,
        file_format: 'PARQUET',
        partition: Object.fromEntries(table.spec.fields.map((field) => [field.name, file.partition])),
        record_count: file.records,
        file_size_in_bytes: file.bytes,
        sort_order_id: sortOrderId,
      },
    }));
    const newManifests: string[] = [...kept.written];
    const manifests = [...kept.manifests];
    if (added.length) {
      const path = `${metadata.location}/metadata/${randomUUID()}-m0.avro`;
      const length = await putFile(client, bucket, path, await encodeManifest(added, table.schema, table.spec));
      newManifests.push(path);
      manifests.unshift(manifestFileRecord(added, table.spec, { path, length, snapshotId, sequenceNumber }));
    }
    const manifestList = `${metadata.location}/metadata/snap-${snapshotId}-1-${randomUUID()}.avro`;
    await putFile(
      client,
      bucket,
      manifestList,
      await encodeManifestList(manifests, { id: snapshotId, parentId: parent, sequenceNumber }),
    );
    const snapshot: Snapshot = {
      'snapshot-id': snapshotId,
      ...(parent === null ? {} : { 'parent-snapshot-id': parent }),
      'sequence-number': sequenceNumber,
      'timestamp-ms': Date.now(),
      'manifest-list': manifestList,
      summary: summaryOf(manifests, kept, added, interval),
      'schema-id': table.schema['schema-id'],
    };
    const next = withSnapshot(metadata, table.location, {
      snapshot,
      schema: table.schema,
      lastColumnId: table.lastColumnId,
    });
    const metadataLocation = metadataFileName(metadata.location, nextVersion(table.location));
    await putFile(client, bucket, metadataLocation, JSON.stringify(next.metadata));
    if (await catalog.swapMetadataLocation(table.location, metadataLocation, next.metadata)) {
      const prunedMetadataFiles = await deleteFiles(client, bucket, next.dropped);
      return {
        snapshot,
        metadataLocation,
        metadata: next.metadata,
        alreadyCommitted: false,
        deletedFiles: kept.deleted,
        prunedMetadataFiles,
      };
    }
    // Lost the race: what this try wrote is no one's; the data files are kept for the next try.
    await deleteFiles(client, bucket, [...newManifests, manifestList, metadataLocation]);
    if (tries >= MAX_COMMIT_TRIES) {
      throw new BatchExportError(`Lost ${tries} commits in a row to other writers of the Iceberg table`, {
        kind: 'transient',
      });
    }
  }
}

/** The version after the metadata file's (`00003-<uuid>.metadata.json` is version 3); 0 for a new table. */
function nextVersion(location: string | null): number {
  if (!location) return 0;
  const version = /\/(\d+)-[^/]*\.metadata\.json$/.exec(location)?.[1];
  return version === undefined ? 1 : Number(version) + 1;
}

async function currentManifests(context: TableContext, metadata: TableMetadata, snapshotId: number) {
  const snapshot = metadata.snapshots.find((candidate) => candidate['snapshot-id'] === snapshotId)!;
  return decodeManifestList(await getFile(context.client, context.config.bucket_name, snapshot['manifest-list']));
}

interface KeptManifests {
  manifests: ManifestFile[];
  /** Manifests this commit wrote (rewritten ones). */
  written: string[];
  deleted: number;
  deletedRecords: number;
}

/**
 * The manifests the new snapshot keeps: unchanged when they hold no live file of the interval; rewritten with the
 * interval's files marked deleted (and the rest existing) when they do. Manifests left with no live file by an
 * earlier commit are dropped. Manifests whose partition bounds cannot hold the interval's rows are not read.
 */
async function replaceIntervalFiles(
  context: TableContext,
  table: TableState,
  previous: ManifestFile[],
  interval: IntervalRef,
  commit: { snapshotId: number; sequenceNumber: number },
): Promise<KeptManifests> {
  const { client, config } = context;
  const kept: KeptManifests = { manifests: [], written: [], deleted: 0, deletedRecords: 0 };
  const range = partitionRange(table.spec, interval);
  const marker = `/${interval.tag}-`;
  for (const manifest of previous) {
    if (manifest.added_files_count + manifest.existing_files_count === 0) continue;
    if (!mayHold(manifest, table.spec, range)) {
      kept.manifests.push(manifest);
      continue;
    }
    const entries = await decodeManifest(await getFile(client, config.bucket_name, manifest.manifest_path));
    const live = entries.filter((entry) => entry.status !== 2);
    const ofInterval = live.filter((entry) => entry.data_file.file_path.includes(marker));
    if (ofInterval.length === 0) {
      kept.manifests.push(manifest);
      continue;
    }
    const rewritten: ManifestEntry[] = live.map((entry) => ({
      ...entry,
      status: ofInterval.includes(entry) ? 2 : 0,
      snapshot_id: ofInterval.includes(entry) ? commit.snapshotId : entry.snapshot_id,
      // Entries carried into a new manifest keep the sequence numbers they had, explicitly (no inheritance).
      sequence_number: entry.sequence_number ?? manifest.sequence_number,
      file_sequence_number: entry.file_sequence_number ?? manifest.sequence_number,
    }));
    const path = `${table.metadata.location}/metadata/${randomUUID()}-m1.avro`;
    const length = await putFile(
      client,
      config.bucket_name,
      path,
      await encodeManifest(rewritten, table.schema, table.spec),
    );
    kept.written.push(path);
    kept.manifests.push(manifestFileRecord(rewritten, table.spec, { path, length, ...commit }));
    kept.deleted += ofInterval.length;
    kept.deletedRecords += ofInterval.reduce((sum, entry) => sum + entry.data_file.record_count, 0);
  }
  return kept;
}

/** The partition values the interval's rows can have, or null when the table is unpartitioned. */
function partitionRange(spec: PartitionSpec, interval: IntervalRef): [number, number] | null {
  const field = spec.fields[0];
  if (!field) return null;
  const grain = field.transform as Parameters<typeof transformTimestamp>[1];
  const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
  return [transformTimestamp(micros(interval.start), grain), transformTimestamp(micros(interval.end) - 1n, grain)];
}

function mayHold(manifest: ManifestFile, spec: PartitionSpec, range: [number, number] | null): boolean {
  const summary = manifest.partitions?.[0];
  if (!range || !summary || spec.fields.length === 0) return true;
  if (summary.contains_null) return true;
  if (!summary.lower_bound || !summary.upper_bound) return true;
  return summary.lower_bound.readInt32LE() <= range[1] && summary.upper_bound.readInt32LE() >= range[0];
}

/** The snapshot summary (spec "Snapshot Summary"): the operation, what it changed, the table's totals, the interval. */
function summaryOf(
  manifests: readonly ManifestFile[],
  kept: KeptManifests,
  added: readonly ManifestEntry[],
  interval: IntervalRef,
): Snapshot['summary'] {
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const live = manifests.map((manifest) => ({
    files: manifest.added_files_count + manifest.existing_files_count,
    rows: manifest.added_rows_count + manifest.existing_rows_count,
  }));
  return {
    operation: kept.deleted > 0 ? 'overwrite' : 'append',
    'added-data-files': String(added.length),
    'added-records': String(sum(added.map((entry) => entry.data_file.record_count))),
    'added-files-size': String(sum(added.map((entry) => entry.data_file.file_size_in_bytes))),
    'deleted-data-files': String(kept.deleted),
    'deleted-records': String(kept.deletedRecords),
    'total-data-files': String(sum(live.map((manifest) => manifest.files))),
    'total-records': String(sum(live.map((manifest) => manifest.rows))),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
    [SUMMARY_INTERVAL_START]: interval.start,
    [SUMMARY_INTERVAL_END]: interval.end,
    [SUMMARY_RUN_ID]: interval.runId,
  };
}
