import { describe, expect, it } from 'vitest';
import { S3IcebergDestinationConfig, tableLocation } from '../../src/destinations/s3-iceberg/config';
import {
  decodeManifest,
  decodeManifestList,
  encodeManifest,
  encodeManifestList,
  manifestFileRecord,
} from '../../src/destinations/s3-iceberg/manifests';
import {
  newTableMetadata,
  withoutOldSnapshots,
  withSnapshot,
  type Snapshot,
} from '../../src/destinations/s3-iceberg/metadata';
import {
  partitionPath,
  partitionSpecFor,
  schemaFor,
  transformTimestamp,
} from '../../src/destinations/s3-iceberg/schema';
import { BatchExportError } from '../../src/errors';
import type { ModelField } from '../../src/models/types';

const BASE = {
  bucket_name: 'analytics',
  namespace: 'posthog',
  table_name: 'events',
  catalog_host: 'catalog.example.com',
  catalog_database: 'iceberg',
  catalog_user: 'writer',
};

const field = (name: string, type: ModelField['type']): ModelField => ({ name, type, expression: `r.${name}` });

describe('S3Iceberg config', () => {
  it('takes a minimal config, with the defaults', () => {
    const config = S3IcebergDestinationConfig.parse(BASE);
    expect(config).toMatchObject({
      partition_by: 'day',
      compression: 'zstd',
      catalog_port: 5432,
      catalog_name: 'default',
    });
    expect(tableLocation({ ...config, prefix: '/warehouse/' })).toBe('s3://analytics/warehouse/posthog/events');
  });

  it('refuses names engines would not take, and a prefix with template variables, naming the field', () => {
    const issues = (config: object) =>
      S3IcebergDestinationConfig.safeParse({ ...BASE, ...config }).error?.issues.map((issue) => issue.path.join('.'));
    expect(issues({ table_name: 'Events-2024' })).toEqual(['table_name']);
    expect(issues({ namespace: '1st' })).toEqual(['namespace']);
    expect(issues({ prefix: 'exports/{year}' })).toEqual(['prefix']);
    expect(issues({ aws_access_key_id: 'AKIA' })).toEqual(['aws_secret_access_key']);
    expect(issues({ partition_by: 'week' })).toEqual(['partition_by']);
    expect(issues({ catalog_host: undefined })).toEqual(['catalog_host']);
    expect(issues({ glue_endpoint_url: 'ftp://glue' })).toEqual(['glue_endpoint_url']);
    expect(issues({ orphan_file_age_hours: 0 })).toEqual(['orphan_file_age_hours']);
  });

  it('takes a Glue catalog without the SQL catalog fields', () => {
    const { bucket_name, namespace, table_name } = BASE;
    const config = S3IcebergDestinationConfig.parse({ bucket_name, namespace, table_name, catalog_type: 'glue' });
    expect(config.catalog_type).toBe('glue');
  });
});

describe('Iceberg schema', () => {
  it('maps field types (timestamps to timestamptz, uuid and JSON to string) and keeps ids when adding columns', () => {
    const first = schemaFor(
      [field('uuid', 'uuid'), field('properties', 'json'), field('inserted_at', 'timestamp')],
      null,
      0,
    );
    expect(first.schema.fields.map((column) => [column.id, column.type])).toEqual([
      [1, 'string'],
      [2, 'string'],
      [3, 'timestamptz'],
    ]);
    const same = schemaFor(
      [field('inserted_at', 'timestamp'), field('uuid', 'uuid')],
      first.schema,
      first.lastColumnId,
    );
    expect(same.changed).toBe(false);
    const evolved = schemaFor([field('uuid', 'uuid'), field('n', 'integer')], first.schema, first.lastColumnId);
    expect(evolved.schema['schema-id']).toBe(1);
    expect(evolved.schema.fields.map((column) => [column.id, column.name, column.type])).toContainEqual([
      4,
      'n',
      'long',
    ]);
    expect(() => schemaFor([field('uuid', 'integer')], first.schema, 3)).toThrow(BatchExportError);
  });

  it('computes time transforms as the spec does, before 1970 too', () => {
    const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
    expect(transformTimestamp(micros('2024-09-01T10:30:00Z'), 'day')).toBe(19967);
    expect(transformTimestamp(micros('2024-09-01T10:30:00Z'), 'hour')).toBe(19967 * 24 + 10);
    expect(transformTimestamp(micros('2024-09-01T10:30:00Z'), 'month')).toBe(54 * 12 + 8);
    expect(transformTimestamp(micros('2024-09-01T10:30:00Z'), 'year')).toBe(54);
    expect(transformTimestamp(micros('1969-12-31T23:59:59Z'), 'day')).toBe(-1);
    expect(transformTimestamp(micros('1969-12-31T23:59:59Z'), 'month')).toBe(-1);
  });

  it('partitions on inserted_at when the model has it, unpartitioned otherwise', () => {
    const { schema } = schemaFor([field('uuid', 'uuid'), field('inserted_at', 'timestamp')], null, 0);
    const spec = partitionSpecFor(schema, 'day');
    expect(spec.fields).toEqual([{ 'source-id': 2, 'field-id': 1000, name: 'inserted_at_day', transform: 'day' }]);
    expect(partitionPath(spec, 19967)).toBe('inserted_at_day=2024-09-01');
    expect(partitionPath(partitionSpecFor(schema, 'hour'), 19967 * 24 + 10)).toBe('inserted_at_hour=2024-09-01-10');
    expect(partitionSpecFor(schemaFor([field('uuid', 'uuid')], null, 0).schema, 'day').fields).toEqual([]);
    expect(partitionSpecFor(schema, 'none').fields).toEqual([]);
  });
});

describe('Iceberg manifests and metadata', () => {
  const { schema, lastColumnId } = schemaFor([field('uuid', 'uuid'), field('inserted_at', 'timestamp')], null, 0);
  const spec = partitionSpecFor(schema, 'day');

  it('writes a manifest Avro file that reads back, and its manifest-list record counts and bounds', async () => {
    const entry = (day: number, records: number) => ({
      status: 1 as const,
      snapshot_id: 7,
      sequence_number: null,
      file_sequence_number: null,
      data_file: {
        content: 0 as const,
        file_path: `s3://b/t/data/${day}.parquet`,
        file_format: 'PARQUET' as const,
        partition: { inserted_at_day: day },
        record_count: records,
        file_size_in_bytes: 100,
        sort_order_id: null,
      },
    });
    const entries = [entry(19967, 10), entry(19968, 5)];
    const bytes = await encodeManifest(entries, schema, spec);
    expect(await decodeManifest(bytes)).toEqual(entries);
    const record = manifestFileRecord(entries, spec, {
      path: 'm.avro',
      length: bytes.length,
      snapshotId: 7,
      sequenceNumber: 3,
    });
    expect(record).toMatchObject({ added_files_count: 2, added_rows_count: 15, min_sequence_number: 3 });
    expect(record.partitions![0]!.lower_bound!.readInt32LE()).toBe(19967);
    expect(record.partitions![0]!.upper_bound!.readInt32LE()).toBe(19968);
  });

  it('writes a manifest list without manifests as a valid Avro file (an empty table)', async () => {
    const bytes = await encodeManifestList([], { id: 1, parentId: null, sequenceNumber: 1 });
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('Obj\x01');
    expect(await decodeManifestList(bytes)).toEqual([]);
  });

  it('keeps write.metadata.previous-versions-max entries in the metadata log, and says which files fell out', () => {
    let metadata = newTableMetadata({
      location: 's3://b/t',
      schema,
      lastColumnId,
      spec,
      sortOrder: { 'order-id': 0, fields: [] },
      properties: { 'write.metadata.previous-versions-max': '2' },
    });
    const dropped: string[] = [];
    for (let version = 0; version < 5; version++) {
      const snapshot: Snapshot = {
        'snapshot-id': version + 1,
        ...(version ? { 'parent-snapshot-id': version } : {}),
        'sequence-number': version + 1,
        'timestamp-ms': version,
        'manifest-list': `list-${version}`,
        summary: { operation: 'append' },
        'schema-id': 0,
      };
      const next = withSnapshot(metadata, version === 0 ? null : `v${version - 1}.json`, {
        snapshot,
        schema,
        lastColumnId,
      });
      metadata = next.metadata;
      dropped.push(...next.dropped);
    }
    expect(metadata['metadata-log'].map((entry) => entry['metadata-file'])).toEqual(['v2.json', 'v3.json']);
    expect(dropped).toEqual(['v0.json', 'v1.json']);
    expect(metadata['current-snapshot-id']).toBe(5);
    expect(metadata.refs.main).toEqual({ 'snapshot-id': 5, type: 'branch' });

    // Expiring all but the newest 2 snapshots: 3 expire, the oldest kept is 4.
    const expiry = withoutOldSnapshots(metadata, 'v4.json', 2)!;
    expect(expiry.expired.map((snapshot) => snapshot['snapshot-id'])).toEqual([1, 2, 3]);
    expect(expiry.oldestKept['snapshot-id']).toBe(4);
    expect(expiry.metadata.snapshots.map((snapshot) => snapshot['snapshot-id'])).toEqual([4, 5]);
    expect(expiry.metadata['snapshot-log'].map((entry) => entry['snapshot-id'])).toEqual([4, 5]);
    expect(withoutOldSnapshots(expiry.metadata, 'v5.json', 2)).toBeNull();
  });
});
