import {
  Bool,
  Field,
  Float64,
  Int64,
  Schema,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  Utf8,
  type DataType,
} from 'apache-arrow';
// The record batch's metadata is encoded with Arrow's own classes; its body is written here (ArrowIpcWriter).
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
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

/** Where each buffer of a batch's body goes: offsets from the body's start, 8-byte aligned as IPC requires. */
interface BodyPlan {
  nodes: FieldNode[];
  /** Every buffer, in column order (the metadata lists them so)... */
  regions: BufferRegion[];
  /** ...and each column's own: its validity, then its offsets and bytes or its values. */
  columnRegions: BufferRegion[][];
  bodyLength: number;
}

const ALIGN = 8;
const aligned = (bytes: number) => (bytes + ALIGN - 1) & ~(ALIGN - 1);
/** An IPC message's prefix (continuation marker and metadata length) and the end-of-stream marker. */
const CONTINUATION = -1;
const END_OF_STREAM = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * Writes batches of rows as binary COPY sent them (read with copyColumnsQuery: text, int8, float8, bool,
 * timestamptz) as Arrow IPC streams: the schema, one record batch, the end marker. The body is written straight
 * from the COPY bytes into one buffer the caller gives (a reused one, see ParquetEncoder): no JS value per field,
 * no Arrow vectors, and no copy but the one into place. Arrow's generic builders cost several times more per value,
 * and its IPC writer made two fresh buffers of the batch's size, which the garbage collector then chased
 * (docs/notes/issue-18-19-session-d.md).
 */
export class ArrowIpcWriter {
  /** The schema message, framed: the same at the start of every stream. */
  private readonly schemaMessage: Buffer;

  constructor(
    schema: Schema,
    private readonly fields: readonly ModelField[],
  ) {
    // An empty table's stream is the schema message and the end marker.
    const empty = Buffer.from(tableToIPC(new Table(schema), 'stream'));
    if (!empty.subarray(empty.length - END_OF_STREAM.length).equals(END_OF_STREAM)) {
      throw new Error('Arrow wrote a stream without its end marker');
    }
    this.schemaMessage = empty.subarray(0, empty.length - END_OF_STREAM.length);
  }

  /**
   * The batch as one IPC stream, written into a buffer `allocate` gives (at least the size it asks for, at byte
   * offset 0 of its ArrayBuffer or a multiple of 8); returns the bytes written, a view of that buffer.
   */
  write(batch: CopyBatch, allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size)): Buffer {
    const plan = this.plan(batch);
    const metadata = Message.encode(
      Message.from(new RecordBatchHeader(batch.rows, plan.nodes, plan.regions, null), plan.bodyLength),
    );
    const metadataSize = aligned(metadata.length + 8) - 8;
    const bodyAt = this.schemaMessage.length + 8 + metadataSize;
    const size = bodyAt + plan.bodyLength + END_OF_STREAM.length;
    const target = allocate(size);
    if (target.length < size || target.byteOffset % ALIGN !== 0)
      throw new RangeError('An Arrow buffer too small or unaligned');
    this.schemaMessage.copy(target, 0);
    let at = this.schemaMessage.length;
    target.writeInt32LE(CONTINUATION, at);
    target.writeInt32LE(metadataSize, at + 4);
    target.set(metadata, at + 8);
    target.fill(0, at + 8 + metadata.length, bodyAt);
    for (let column = 0; column < this.fields.length; column++) {
      const regions = plan.columnRegions[column]!;
      this.writeColumn(this.fields[column]!, batch, column, target, bodyAt, regions, plan.nodes[column]!);
    }
    at = bodyAt + plan.bodyLength;
    END_OF_STREAM.copy(target, at);
    return target.subarray(0, at + END_OF_STREAM.length);
  }

  /** The sizes of every buffer, from the field lengths alone (a first pass: the metadata precedes the body). */
  private plan(batch: CopyBatch): BodyPlan {
    const { rows, width, lengths } = batch;
    const nodes: FieldNode[] = [];
    const regions: BufferRegion[] = [];
    const columnRegions: BufferRegion[][] = [];
    let bodyLength = 0;
    const add = (length: number) => {
      const region = new BufferRegion(bodyLength, length);
      regions.push(region);
      columnRegions[columnRegions.length - 1]!.push(region);
      bodyLength += aligned(length);
    };
    for (let column = 0; column < this.fields.length; column++) {
      columnRegions.push([]);
      let nulls = 0;
      let bytes = 0;
      for (let row = 0; row < rows; row++) {
        const length = lengths[row * width + column]!;
        if (length < 0) nulls++;
        else bytes += length;
      }
      nodes.push(new FieldNode(rows, nulls));
      add((rows + 7) >> 3);
      switch (this.fields[column]!.type) {
        case 'string':
        case 'uuid':
        case 'json':
          add((rows + 1) * 4);
          add(bytes);
          break;
        case 'boolean':
          add((rows + 7) >> 3);
          break;
        default:
          add(rows * 8);
      }
    }
    return { nodes, regions, columnRegions, bodyLength };
  }

  /** Writes one column's buffers (validity, then offsets and bytes or values) where the plan put them. */
  private writeColumn(
    field: ModelField,
    batch: CopyBatch,
    column: number,
    target: Buffer,
    bodyAt: number,
    regions: readonly BufferRegion[],
    node: FieldNode,
  ): void {
    const { data, width, rows, starts, lengths } = batch;
    const view = (i: number) => {
      const { offset, length } = regions[i]!;
      return target.subarray(bodyAt + offset, bodyAt + offset + aligned(length));
    };
    const hasNulls = node.nullCount > 0;
    const validity = view(0).fill(hasNulls ? 0 : 0xff);
    const present = (row: number): boolean => {
      if (lengths[row * width + column]! < 0) return false;
      if (hasNulls) validity[row >> 3]! |= 1 << (row & 7);
      return true;
    };
    switch (field.type) {
      case 'string':
      case 'uuid':
      case 'json': {
        const offsetsView = view(1);
        const offsets = new Int32Array(offsetsView.buffer, offsetsView.byteOffset, rows + 1);
        const values = view(2);
        let at = 0;
        offsets[0] = 0;
        for (let row = 0; row < rows; row++) {
          if (present(row)) {
            const from = starts[row * width + column]!;
            at += data.copy(values, at, from, from + lengths[row * width + column]!);
          }
          offsets[row + 1] = at;
        }
        values.fill(0, at);
        return;
      }
      case 'integer':
      case 'timestamp': {
        // Two 32-bit halves, little-endian: a BigInt per value was most of what the garbage collector chased.
        const out = view(1);
        const words = new Uint32Array(out.buffer, out.byteOffset, rows * 2);
        const timestamp = field.type === 'timestamp';
        for (let row = 0; row < rows; row++) {
          if (!present(row)) {
            words[2 * row] = 0;
            words[2 * row + 1] = 0;
            continue;
          }
          const from = starts[row * width + column]!;
          let high = data.readUInt32BE(from);
          let low = data.readUInt32BE(from + 4);
          if (timestamp) {
            if ((high === 0x7fffffff && low === 0xffffffff) || (high === 0x80000000 && low === 0)) {
              throw infiniteTimestamp(field, high === 0x7fffffff);
            }
            // Postgres counts from 2000-01-01, Arrow from 1970-01-01: the difference added with its carry.
            low += EPOCH_DIFFERENCE_LOW;
            high += EPOCH_DIFFERENCE_HIGH + (low >= 0x1_0000_0000 ? 1 : 0);
          }
          words[2 * row] = low >>> 0;
          words[2 * row + 1] = high >>> 0;
        }
        return;
      }
      case 'float': {
        const out = view(1);
        const values = new Float64Array(out.buffer, out.byteOffset, rows);
        for (let row = 0; row < rows; row++)
          values[row] = present(row) ? data.readDoubleBE(starts[row * width + column]!) : 0;
        return;
      }
      case 'boolean': {
        const values = view(1).fill(0);
        for (let row = 0; row < rows; row++) {
          if (present(row) && data[starts[row * width + column]!] === 1) values[row >> 3]! |= 1 << (row & 7);
        }
        return;
      }
    }
  }
}

/**
 * Postgres counts binary timestamps in microseconds from 2000-01-01 UTC, Arrow from 1970-01-01: 946,684,800,000,000
 * microseconds apart, as high and low 32-bit words.
 */
const EPOCH_DIFFERENCE_HIGH = Math.floor(946_684_800_000_000 / 0x1_0000_0000);
const EPOCH_DIFFERENCE_LOW = 946_684_800_000_000 % 0x1_0000_0000;

function infiniteTimestamp(field: ModelField, positive: boolean): BatchExportError {
  return new BatchExportError(
    `Cannot export the timestamp "${positive ? '' : '-'}infinity" of ${field.name} to Parquet: ` +
      'Parquet timestamps have no infinity; exclude such rows or use JSONLines',
    { kind: 'configuration' },
  );
}
