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

export function arrowSchema(fields: readonly ModelField[]): Schema {
  return new Schema(fields.map((field) => new Field(field.name, arrowType(field.type), true)));
}

/**
 * One Arrow IPC stream (schema + one record batch) holding `rows` (arrays of column values, as the stream reads
 * them: timestamps and bigints as text). Columns are built straight into Arrow buffers: going through Arrow's
 * generic builders costs several times more per value.
 */
export function rowsToArrowIpc(schema: Schema, fields: readonly ModelField[], rows: unknown[][]): Uint8Array {
  const children = fields.map((field, column) => columnData(field.type, rows, column));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, children }));
  return tableToIPC(new Table([batch]), 'stream');
}

function columnData(type: FieldType, rows: unknown[][], column: number): Data {
  const length = rows.length;
  const validity = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const present = (row: number): boolean => {
    if (rows[row]![column] === null || rows[row]![column] === undefined) {
      nullCount++;
      return false;
    }
    validity[row >> 3]! |= 1 << (row & 7);
    return true;
  };
  switch (type) {
    case 'string':
    case 'uuid':
    case 'json': {
      const offsets = new Int32Array(length + 1);
      // Exact size first: sizing by the worst case (3 bytes a character) would triple the memory of a batch.
      let size = 0;
      for (let row = 0; row < length; row++) {
        const value = rows[row]![column];
        if (value !== null && value !== undefined) size += Buffer.byteLength(value as string, 'utf8');
      }
      const data = Buffer.allocUnsafe(size);
      let at = 0;
      for (let row = 0; row < length; row++) {
        if (present(row)) at += data.write(rows[row]![column] as string, at, 'utf8');
        offsets[row + 1] = at;
      }
      return makeData({ type: new Utf8(), length, nullCount, nullBitmap: validity, valueOffsets: offsets, data });
    }
    case 'integer': {
      const values = new BigInt64Array(length);
      for (let row = 0; row < length; row++) if (present(row)) values[row] = BigInt(rows[row]![column] as string);
      return makeData({ type: new Int64(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'float': {
      const values = new Float64Array(length);
      for (let row = 0; row < length; row++) if (present(row)) values[row] = Number(rows[row]![column]);
      return makeData({ type: new Float64(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'boolean': {
      const values = new Uint8Array((length + 7) >> 3);
      for (let row = 0; row < length; row++) {
        if (present(row) && rows[row]![column] === true) values[row >> 3]! |= 1 << (row & 7);
      }
      return makeData({ type: new Bool(), length, nullCount, nullBitmap: validity, data: values });
    }
    case 'timestamp': {
      const values = new BigInt64Array(length);
      for (let row = 0; row < length; row++) {
        if (present(row)) values[row] = timestampMicros(rows[row]![column] as string);
      }
      return makeData({ type: new TimestampMicrosecond('UTC'), length, nullCount, nullBitmap: validity, data: values });
    }
  }
}

const PG_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?$/;

/**
 * Microseconds since the epoch of a timestamp as Postgres prints it (`2024-05-01 10:00:00.123456+00`); a JS Date
 * would keep only milliseconds. Without an offset (timestamp without time zone) the time is taken as UTC.
 */
export function timestampMicros(text: string): bigint {
  const match = PG_TIMESTAMP.exec(text);
  if (!match) throw new RangeError(`Cannot export the timestamp "${text}" to Parquet`);
  const [, date, time, fraction = '', sign, hours = '0', minutes = '0', seconds = '0'] = match;
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds));
  const epochSeconds = Date.parse(`${date}T${time}Z`) / 1000 - (sign ? offsetSeconds : 0);
  return BigInt(epochSeconds) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
}
