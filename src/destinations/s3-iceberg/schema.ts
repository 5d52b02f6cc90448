import { BatchExportError } from '../../errors';
import type { FieldType, ModelField } from '../../models/types';
import type { PartitionGrain } from './config';

/** A column of an Iceberg schema (spec "Schemas and Data Types"): ids are never reused, names may change. */
export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergPrimitive;
}

export type IcebergPrimitive = 'string' | 'long' | 'double' | 'boolean' | 'timestamptz';

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  fields: IcebergField[];
}

/**
 * The Iceberg type of each field type, as the project's Parquet writer stores it: timestamps as UTC microseconds
 * (`timestamptz`), JSON as its text. uuids stay `string`: Iceberg's `uuid` is a 16-byte fixed in Parquet, which the
 * writer does not produce, and Athena's Iceberg tables do not take the type at all.
 */
const ICEBERG_TYPES: Record<FieldType, IcebergPrimitive> = {
  string: 'string',
  uuid: 'string',
  json: 'string',
  integer: 'long',
  float: 'double',
  boolean: 'boolean',
  timestamp: 'timestamptz',
};

/**
 * The schema for the model's fields: the current one when it holds them all; else a new schema (next schema id) that
 * keeps every existing column with its id and adds the new ones with fresh ids after `lastColumnId` (spec "Schema
 * Evolution": adding an optional column is always allowed; old data files read it as null). A field whose type
 * changed is refused: Iceberg allows only widening, and rows of both types in one column would be lost to readers.
 */
export function schemaFor(
  fields: readonly ModelField[],
  current: IcebergSchema | null,
  lastColumnId: number,
): { schema: IcebergSchema; lastColumnId: number; changed: boolean } {
  const existing = new Map((current?.fields ?? []).map((field) => [field.name, field]));
  let nextId = lastColumnId;
  const added: IcebergField[] = [];
  for (const field of fields) {
    const type = ICEBERG_TYPES[field.type];
    const column = existing.get(field.name);
    if (column && column.type !== type) {
      throw new BatchExportError(
        `The Iceberg table's column "${field.name}" is ${column.type}, and the export now writes ${type}: ` +
          'Iceberg cannot change a column to that type; rename the field or export to a new table_name',
        { kind: 'configuration' },
      );
    }
    if (!column) added.push({ id: ++nextId, name: field.name, required: false, type });
  }
  if (current && added.length === 0) return { schema: current, lastColumnId, changed: false };
  const schema: IcebergSchema = {
    type: 'struct',
    'schema-id': current ? current['schema-id'] + 1 : 0,
    fields: [...(current?.fields ?? []), ...added],
  };
  return { schema, lastColumnId: nextId, changed: true };
}

/** Where each model field is in the schema (its column id), for the Parquet file's field ids. */
export function fieldIds(fields: readonly ModelField[], schema: IcebergSchema): number[] {
  return fields.map((field) => schema.fields.find((column) => column.name === field.name)!.id);
}

/** Partition field ids start at 1000 (spec "Partition Specs"). */
export const FIRST_PARTITION_FIELD_ID = 1000;

export interface PartitionSpec {
  'spec-id': number;
  fields: Array<{ 'source-id': number; 'field-id': number; name: string; transform: string }>;
}

/** The column partitioned on, when the model has it. */
export const PARTITION_SOURCE = 'inserted_at';

/**
 * The table's partition spec: `<grain>(inserted_at)` when the schema has a timestamp `inserted_at`, unpartitioned
 * otherwise (a hogql_query that does not select it) or with `partition_by: none`.
 */
export function partitionSpecFor(schema: IcebergSchema, grain: PartitionGrain): PartitionSpec {
  const source = schema.fields.find((field) => field.name === PARTITION_SOURCE && field.type === 'timestamptz');
  if (!source || grain === 'none') return { 'spec-id': 0, fields: [] };
  return {
    'spec-id': 0,
    fields: [
      {
        'source-id': source.id,
        'field-id': FIRST_PARTITION_FIELD_ID,
        name: `${PARTITION_SOURCE}_${grain}`,
        transform: grain,
      },
    ],
  };
}

const MICROS_PER_HOUR = 3_600_000_000n;

/**
 * A timestamp's partition value under a time transform (spec "Partition Transforms"): hours, days, months or years
 * since 1970-01-01 UTC, each rounding down (so before 1970 too).
 */
export function transformTimestamp(micros: bigint, grain: Exclude<PartitionGrain, 'none'>): number {
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  const hours = floorDiv(micros, MICROS_PER_HOUR);
  if (grain === 'hour') return Number(hours);
  const days = Number(floorDiv(hours, 24n));
  if (grain === 'day') return days;
  const date = new Date(days * 86_400_000);
  const months = (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
  return grain === 'month' ? months : Math.floor(months / 12);
}

/** The partition value as a path segment, as Iceberg writers name partition directories (`inserted_at_day=2024-09-01`). */
export function partitionPath(spec: PartitionSpec, value: number | null): string {
  const field = spec.fields[0];
  if (!field) return '';
  if (value === null) return `${field.name}=null`;
  const hour = field.transform === 'hour' ? value : null;
  let text: string;
  if (field.transform === 'hour' || field.transform === 'day') {
    const iso = new Date((hour ?? value * 24) * 3_600_000).toISOString();
    text = hour === null ? iso.slice(0, 10) : `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
  } else if (field.transform === 'month') {
    text = `${1970 + Math.floor(value / 12)}-${String((value % 12) + 1).padStart(2, '0')}`;
  } else {
    text = String(1970 + value);
  }
  return `${field.name}=${text}`;
}

export interface SortOrder {
  'order-id': number;
  fields: Array<{ transform: 'identity'; 'source-id': number; direction: 'asc'; 'null-order': 'nulls-first' }>;
}

/**
 * Sort order 1 is `(inserted_at, uuid)`, the order the events model reads rows in, so each data file is sorted by it;
 * 0 (unsorted) for models read in another order.
 */
export function sortOrderFor(schema: IcebergSchema, orderBy: readonly string[]): SortOrder {
  const insertedAt = schema.fields.find((field) => field.name === 'inserted_at');
  const uuid = schema.fields.find((field) => field.name === 'uuid');
  const sorted = orderBy.join(',') === 'r.inserted_at,r.uuid' && insertedAt && uuid;
  if (!sorted) return { 'order-id': 0, fields: [] };
  return {
    'order-id': 1,
    fields: [insertedAt, uuid].map((field) => ({
      transform: 'identity' as const,
      'source-id': field.id,
      direction: 'asc' as const,
      'null-order': 'nulls-first' as const,
    })),
  };
}
