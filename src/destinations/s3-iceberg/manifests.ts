import { decodeAvroFile, encodeAvroFile } from './avro';
import type { IcebergSchema, PartitionSpec } from './schema';

/**
 * Iceberg's manifests and manifest lists (spec "Manifests" and "Manifest Lists", format version 2), as Avro files.
 * Field names and ids are the spec's; optional fields this writer has nothing for (column statistics, key
 * metadata, split offsets) are left out of the written schema, which readers take as null (they match by field id).
 */

/** Status of a manifest entry: 0 existing, 1 added (by the manifest's snapshot), 2 deleted (by it). */
export type EntryStatus = 0 | 1 | 2;

export interface DataFileRecord {
  content: 0;
  file_path: string;
  file_format: 'PARQUET';
  /** The partition tuple: one value per partition field, by the field's name. */
  partition: Record<string, number | null>;
  record_count: number;
  file_size_in_bytes: number;
  sort_order_id: number | null;
}

export interface ManifestEntry {
  status: EntryStatus;
  snapshot_id: number | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: DataFileRecord;
}

export interface ManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: 0;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: FieldSummary[] | null;
}

interface FieldSummary {
  contains_null: boolean;
  contains_nan: boolean | null;
  lower_bound: Buffer | null;
  upper_bound: Buffer | null;
}

/** An Avro schema, as JSON: the Iceberg attributes on it are not in avsc's types. */
type AvroSchema = string | object;

const optional = (type: AvroSchema) => ['null', type];

/** The Avro type of a partition field's value: `day` gives dates (days since the epoch), other transforms ints. */
function partitionValueType(transform: string): AvroSchema {
  return transform === 'day' ? { type: 'int', logicalType: 'date' } : 'int';
}

function manifestEntrySchema(spec: PartitionSpec): object {
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: optional('long'), default: null, 'field-id': 1 },
      { name: 'sequence_number', type: optional('long'), default: null, 'field-id': 3 },
      { name: 'file_sequence_number', type: optional('long'), default: null, 'field-id': 4 },
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134 },
            { name: 'file_path', type: 'string', 'field-id': 100 },
            { name: 'file_format', type: 'string', 'field-id': 101 },
            {
              name: 'partition',
              'field-id': 102,
              type: {
                type: 'record',
                name: 'r102',
                fields: spec.fields.map((field) => ({
                  name: field.name,
                  type: optional(partitionValueType(field.transform)),
                  default: null,
                  'field-id': field['field-id'],
                })),
              },
            },
            { name: 'record_count', type: 'long', 'field-id': 103 },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
            { name: 'sort_order_id', type: optional('int'), default: null, 'field-id': 140 },
          ],
        },
      },
    ],
  };
}

const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions',
      type: optional({
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: optional('boolean'), default: null, 'field-id': 518 },
            { name: 'lower_bound', type: optional('bytes'), default: null, 'field-id': 510 },
            { name: 'upper_bound', type: optional('bytes'), default: null, 'field-id': 511 },
          ],
        },
      }),
      default: null,
      'field-id': 507,
    },
  ],
};

/** A manifest of data files, with the header metadata the spec requires (the schema and spec it was written for). */
export function encodeManifest(entries: readonly ManifestEntry[], schema: IcebergSchema, spec: PartitionSpec) {
  return encodeAvroFile(manifestEntrySchema(spec), entries, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  });
}

export const decodeManifest = (bytes: Buffer) => decodeAvroFile<ManifestEntry>(bytes);

export function encodeManifestList(
  manifests: readonly ManifestFile[],
  snapshot: { id: number; parentId: number | null; sequenceNumber: number },
) {
  return encodeAvroFile(MANIFEST_FILE_SCHEMA, manifests, {
    'snapshot-id': String(snapshot.id),
    'parent-snapshot-id': snapshot.parentId === null ? 'null' : String(snapshot.parentId),
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  });
}

export const decodeManifestList = (bytes: Buffer) => decodeAvroFile<ManifestFile>(bytes);

/**
 * The manifest list's record of a manifest: counts by status, and per partition field the bounds of its values
 * (single-value serialization: a 4-byte little-endian int, spec appendix D), which let readers skip manifests.
 */
export function manifestFileRecord(
  entries: readonly ManifestEntry[],
  spec: PartitionSpec,
  written: { path: string; length: number; snapshotId: number; sequenceNumber: number },
): ManifestFile {
  const count = (status: EntryStatus) => entries.filter((entry) => entry.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, entry) => sum + entry.data_file.record_count, 0);
  const [existing, added, deleted] = [count(0), count(1), count(2)];
  const live = entries.filter((entry) => entry.status !== 2);
  const sequenceNumbers = live.map((entry) => entry.sequence_number ?? written.sequenceNumber);
  return {
    manifest_path: written.path,
    manifest_length: written.length,
    partition_spec_id: spec['spec-id'],
    content: 0,
    sequence_number: written.sequenceNumber,
    min_sequence_number: sequenceNumbers.length ? Math.min(...sequenceNumbers) : written.sequenceNumber,
    added_snapshot_id: written.snapshotId,
    added_files_count: added.length,
    existing_files_count: existing.length,
    deleted_files_count: deleted.length,
    added_rows_count: rows(added),
    existing_rows_count: rows(existing),
    deleted_rows_count: rows(deleted),
    partitions: spec.fields.map((field) => {
      const values = entries.map((entry) => entry.data_file.partition[field.name] ?? null);
      const present = values.filter((value): value is number => value !== null);
      return {
        contains_null: present.length < values.length,
        contains_nan: false,
        lower_bound: present.length ? intBytes(Math.min(...present)) : null,
        upper_bound: present.length ? intBytes(Math.max(...present)) : null,
      };
    }),
  };
}

function intBytes(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return bytes;
}
