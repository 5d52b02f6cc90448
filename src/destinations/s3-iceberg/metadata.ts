import { randomUUID } from 'node:crypto';
import type { IcebergSchema, PartitionSpec, SortOrder } from './schema';

/**
 * Table metadata, format version 2 (spec "Table Metadata"): one JSON file per commit, each naming its predecessors
 * in `metadata-log`. Only the fields this writer sets are typed; others found in a file are kept as they are.
 */
export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: IcebergSchema[];
  'default-spec-id': number;
  'partition-specs': PartitionSpec[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': SortOrder[];
  properties: Record<string, string>;
  'current-snapshot-id': number;
  snapshots: Snapshot[];
  'snapshot-log': Array<{ 'timestamp-ms': number; 'snapshot-id': number }>;
  'metadata-log': Array<{ 'timestamp-ms': number; 'metadata-file': string }>;
  refs: Record<string, { 'snapshot-id': number; type: 'branch' | 'tag' }>;
}

export interface Snapshot {
  'snapshot-id': number;
  'parent-snapshot-id'?: number;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: { operation: 'append' | 'overwrite' | 'replace' | 'delete' } & Record<string, string>;
  'schema-id': number;
}

/** Summary keys recording which interval a snapshot holds, and which run committed it. */
export const SUMMARY_INTERVAL_START = 'batch-export.interval-start';
export const SUMMARY_INTERVAL_END = 'batch-export.interval-end';
export const SUMMARY_RUN_ID = 'batch-export.run-id';

/** The table property bounding `metadata-log` (spec "Table Metadata and Snapshots": write.metadata.*). */
export const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';

/** A table with no snapshot yet, for the first commit to build on. */
export function newTableMetadata(input: {
  location: string;
  schema: IcebergSchema;
  lastColumnId: number;
  spec: PartitionSpec;
  sortOrder: SortOrder;
  properties: Record<string, string>;
}): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location: input.location,
    'last-sequence-number': 0,
    'last-updated-ms': Date.now(),
    'last-column-id': input.lastColumnId,
    'current-schema-id': input.schema['schema-id'],
    schemas: [input.schema],
    'default-spec-id': input.spec['spec-id'],
    'partition-specs': [input.spec],
    'last-partition-id': Math.max(999, ...input.spec.fields.map((field) => field['field-id'])),
    'default-sort-order-id': input.sortOrder['order-id'],
    'sort-orders':
      input.sortOrder['order-id'] === 0 ? [input.sortOrder] : [{ 'order-id': 0, fields: [] }, input.sortOrder],
    properties: input.properties,
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  };
}

/** The snapshots of the table's current state, newest first (the main branch's ancestry). */
export function currentAncestry(metadata: TableMetadata): Snapshot[] {
  const byId = new Map(metadata.snapshots.map((snapshot) => [snapshot['snapshot-id'], snapshot]));
  const ancestry: Snapshot[] = [];
  let id: number | undefined = metadata['current-snapshot-id'];
  while (id !== undefined && id !== -1) {
    const snapshot = byId.get(id);
    if (!snapshot) break;
    ancestry.push(snapshot);
    id = snapshot['parent-snapshot-id'];
  }
  return ancestry;
}

/** The snapshot this run committed for the interval, if one is in the table's current state. */
export function committedByRun(
  metadata: TableMetadata,
  interval: { start: string; end: string; runId: string },
): Snapshot | null {
  return (
    currentAncestry(metadata).find(
      (snapshot) =>
        snapshot.summary[SUMMARY_RUN_ID] === interval.runId &&
        snapshot.summary[SUMMARY_INTERVAL_START] === interval.start &&
        snapshot.summary[SUMMARY_INTERVAL_END] === interval.end,
    ) ?? null
  );
}

/**
 * A snapshot id: positive and below 2^53, so that it survives JSON and Avro readers in any language (spec: a
 * unique long).
 */
export function newSnapshotId(metadata: TableMetadata): number {
  const taken = new Set(metadata.snapshots.map((snapshot) => snapshot['snapshot-id']));
  for (;;) {
    const id = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) + 1;
    if (!taken.has(id)) return id;
  }
}

/**
 * The metadata after a commit of `snapshot`, written at `previousLocation`'s successor: the schema (when it changed)
 * becomes current, the snapshot becomes main's head, and the previous file joins `metadata-log`, which keeps the
 * newest `write.metadata.previous-versions-max` entries. Returns the metadata files that fell out of the log.
 */
export function withSnapshot(
  metadata: TableMetadata,
  previousLocation: string | null,
  change: { snapshot: Snapshot; schema: IcebergSchema; lastColumnId: number },
): { metadata: TableMetadata; dropped: string[] } {
  const { snapshot, schema } = change;
  const schemas = metadata.schemas.some((known) => known['schema-id'] === schema['schema-id'])
    ? metadata.schemas
    : [...metadata.schemas, schema];
  let log = [...metadata['metadata-log']];
  if (previousLocation) log.push({ 'timestamp-ms': metadata['last-updated-ms'], 'metadata-file': previousLocation });
  const keep = Number(metadata.properties[PREVIOUS_VERSIONS_MAX] ?? 100);
  const dropped = log.slice(0, Math.max(0, log.length - keep)).map((entry) => entry['metadata-file']);
  log = log.slice(log.length - Math.min(keep, log.length));
  return {
    metadata: {
      ...metadata,
      'last-sequence-number': snapshot['sequence-number'],
      'last-updated-ms': snapshot['timestamp-ms'],
      'last-column-id': change.lastColumnId,
      'current-schema-id': schema['schema-id'],
      schemas,
      'current-snapshot-id': snapshot['snapshot-id'],
      snapshots: [...metadata.snapshots, snapshot],
      'snapshot-log': [
        ...metadata['snapshot-log'],
        { 'timestamp-ms': snapshot['timestamp-ms'], 'snapshot-id': snapshot['snapshot-id'] },
      ],
      'metadata-log': log,
      refs: { ...metadata.refs, main: { 'snapshot-id': snapshot['snapshot-id'], type: 'branch' } },
    },
    dropped,
  };
}

/**
 * The metadata without the snapshots of main's ancestry older than its newest `keep` (spec "Snapshot Retention
 * Policy": expiring removes snapshots from the metadata; what only they reference may then be deleted), as the
 * successor of `previousLocation`. Returns the snapshots expired and the oldest one kept.
 */
export function withoutOldSnapshots(
  metadata: TableMetadata,
  previousLocation: string,
  keep: number,
): { metadata: TableMetadata; expired: Snapshot[]; oldestKept: Snapshot; dropped: string[] } | null {
  const ancestry = currentAncestry(metadata);
  if (ancestry.length <= keep) return null;
  const kept = new Set(ancestry.slice(0, keep).map((snapshot) => snapshot['snapshot-id']));
  const expired = metadata.snapshots.filter((snapshot) => !kept.has(snapshot['snapshot-id']));
  const oldestKept = ancestry[keep - 1]!;
  // The oldest kept snapshot keeps its parent id: readers end the ancestry at a snapshot the metadata lacks.
  const snapshots = metadata.snapshots.filter((snapshot) => kept.has(snapshot['snapshot-id']));
  let log = [
    ...metadata['metadata-log'],
    { 'timestamp-ms': metadata['last-updated-ms'], 'metadata-file': previousLocation },
  ];
  const max = Number(metadata.properties[PREVIOUS_VERSIONS_MAX] ?? 100);
  const dropped = log.slice(0, Math.max(0, log.length - max)).map((entry) => entry['metadata-file']);
  log = log.slice(log.length - Math.min(max, log.length));
  return {
    metadata: {
      ...metadata,
      'last-updated-ms': Date.now(),
      snapshots,
      'snapshot-log': metadata['snapshot-log'].filter((entry) => kept.has(entry['snapshot-id'])),
      'metadata-log': log,
    },
    expired,
    oldestKept,
    dropped,
  };
}

/** The name of the metadata file of a table version: `<location>/metadata/<version>-<uuid>.metadata.json`. */
export function metadataFileName(location: string, version: number): string {
  return `${location}/metadata/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}
