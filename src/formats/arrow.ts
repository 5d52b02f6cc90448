import {
  Bool,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { BatchExportError } from '../errors';
import type { CopyBatch } from '../models/copy-stream';
import type { FieldType, ModelField } from '../models/types';

/** The Arrow (and so Parquet) type of each field type. JSON and uuids are strings: JSON as its text. */
function arrowType(type: FieldType): DataType {
  switch (type) {
    case 'string':
    case 'uuid':
    case 'json':
      return new Utf8();
    case 'integer':
      return new Int64();
    case 'float':
      return new Float64();
    case 'boolean':
      return new Bool();
    case 'timestamp':
      return new TimestampMicrosecond('UTC');
  }
}

/**
 * The Arrow schema of the fields. With `fieldIds` (one per field), each column carries its id as the Parquet writer
 * reads it (`PARQUET:field_id`), so the file's columns have field ids: Iceberg readers match columns by them.
 */
export function arrowSchema(fields: readonly ModelField[], fieldIds?: readonly number[]): Schema {
  return new Schema(
    fields.map((field, i) => {
      const metadata = fieldIds ? new Map([['PARQUET:field_id', String(fieldIds[i])]]) : undefined;
      return new Field(field.name, arrowType(field.type), true, metadata);
    }),
  );
}

/**
 * One Arrow IPC stream (schema + one record batch) holding a batch of rows as binary COPY sent them (read with
 * copyColumnsQuery: text, int8, float8, bool, timestamptz). Columns are built straight from the COPY bytes into
 * Arrow buffers: no JS value is made per field, and Arrow's generic builders cost several times more per value.
 */
export function batchToArrowIpc(schema: Schema, fields: readonly ModelField[], batch: CopyBatch): Uint8Array {
  const children = fields.map((field, column) => columnData(field, batch, column));
  const length = batch.rows;
  const recordBatch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children }));
  return tableToIPC(new Table([recordBatch]), 'stream');
}

/** Postgres counts binary timestamps in microseconds from 2000-01-01 UTC; Arrow from 1970-01-01. */
const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;
const INFINITY = 0x7fffffffffffffffn;
const MINUS_INFINITY = -0x8000000000000000n;

function columnData(field: ModelField, batch: CopyBatch, column: number): Data {
  const { data, width, rows: length, starts, lengths } = batch;
  const validity = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const present = (row: number): boolean => {
    if (lengths[row * width + column]! < 0) {
      nullCount++;
      return false;
    }
    validity[row >> 3]! |= 1 << (row & 7);
    return true;
  };
  const start = (row: number) => starts[row * width + column]!;
  switch (field.type) {
    case 'string':
    case 'uuid':
    case 'json': {
      const offsets = new Int32Array(length + 1);
      let size = 0;
      for (let row = 0; row < length; row++) size += Math.max(0, lengths[row * width + column]!);
      const values = Buffer.allocUnsafe(size);
      let at = 0;
      for (let row = 0; row < length; row++) {
        if (present(row)) {
          const from = start(row);
          at += data.copy(values, at, from, from + lengths[row * width + column]!);
        }
        offsets[row + 1] = at;
      }
      return makeData({ type: new Utf8(), length, nullCount, nullBitmap: validity, valueOffsets: offsets, data: values });
    }
    case 'integer': {
      const values = new BigInt64Array(length);
      for (let row = 0; row < length; row++) if (present(row)) values[row] = data.readBigInt64BE(start(row));
      return makeData({ type: new Int64(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'float': {
      const values = new Float64Array(length);
      for (let row = 0; row < length; row++) if (present(row)) values[row] = data.readDoubleBE(start(row));
      return makeData({ type: new Float64(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'boolean': {
      const values = new Uint8Array((length + 7) >> 3);
      for (let row = 0; row < length; row++) {
        if (present(row) && data[start(row)] === 1) values[row >> 3]! |= 1 << (row & 7);
      }
      return makeData({ type: new Bool(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'timestamp': {
      const values = new BigInt64Array(length);
      for (let row = 0; row < length; row++) {
        if (!present(row)) continue;
        const micros = data.readBigInt64BE(start(row));
        if (micros === INFINITY || micros === MINUS_INFINITY) {
          throw new BatchExportError(
            `Cannot export the timestamp "${micros === INFINITY ? '' : '-'}infinity" of ${field.name} to Parquet: ` +
              'Parquet timestamps have no infinity; exclude such rows or use JSONLines',
            { kind: 'configuration' },
          );
        }
        values[row] = micros + POSTGRES_EPOCH_MICROS;
      }
      return makeData({ type: new TimestampMicrosecond('UTC'), length, nullCount, nullBitmap: validity, data: values });
    }
  }
}
