import type { CopyBatch } from '../models/copy-stream';
import type { ModelField } from '../models/types';
import { SpareBuffers } from '../buffers';
import { createCompressor, type TextCompression } from './compression';
import type { FileEncoder } from './encoder';
import { JsonLinesWriter } from './json-lines';
import { ParquetEncoder, type ParquetCompression } from './parquet';

export type FileFormat = 'JSONLines' | 'Parquet';

export type { FileEncoder } from './encoder';

export type EncoderOptions =
  | {
      format: 'JSONLines';
      compression: TextCompression;
      /** The fields of rows read with copyColumnsQuery and `readerDerives` (see JsonLinesWriter). */
      fields: readonly ModelField[];
    }
  | {
      format: 'Parquet';
      compression: ParquetCompression;
      fields: readonly ModelField[];
      rowGroupRows?: number;
      /** Parquet field ids of the columns, one per field (Iceberg data files). */
      fieldIds?: readonly number[];
    };

export function createFileEncoder(options: EncoderOptions): FileEncoder {
  return options.format === 'Parquet'
    ? new ParquetEncoder(options.fields, options.compression, options.rowGroupRows, options.fieldIds)
    : new JsonLinesEncoder(options.fields, options.compression);
}

/** One per batch being compressed (two per export, ENCODES_IN_FLIGHT) and one being written. */
const SPARE_LINE_BUFFERS = 3;

/** Rows of typed columns (copyColumnsQuery with `readerDerives`), one JSON line each. */
class JsonLinesEncoder implements FileEncoder {
  private readonly writer: JsonLinesWriter;
  /** Buffers of lines compressed already (a fresh one per batch was garbage only full collections freed). */
  private readonly spares = new SpareBuffers(SPARE_LINE_BUFFERS);
  private readonly compressor;
  readonly continuable: boolean;

  constructor(fields: readonly ModelField[], compression: TextCompression) {
    this.writer = new JsonLinesWriter(fields);
    this.compressor = createCompressor(compression);
    this.continuable = this.compressor.chunksAreIndependent;
  }

  encode(batch: CopyBatch): Promise<Buffer> {
    const lines = this.writer.write(batch, (size) => Buffer.from(this.spares.take(size, size * 1.25)));
    return this.compressor.compress(lines).then((compressed) => {
      // The compressor is done with the lines: their buffer may take a later batch's, unless it is the result.
      if (compressed.buffer !== lines.buffer) this.spares.give(lines.buffer as ArrayBuffer);
      return compressed;
    });
  }

  finish(): Promise<Buffer> {
    return this.compressor.finish();
  }

  async discard(): Promise<void> {
    await this.compressor.finish().catch(() => undefined);
  }
}

/**
 * The JSON lines of a batch, one per row: each row's first field, copied byte for byte (no JS string is made), and
 * a newline. JSON text from Postgres has no raw newline inside strings but may have whitespace ones (json keeps the
 * input's formatting): they become spaces, which JSON treats alike.
 */
export function encodeLines(batch: CopyBatch): Buffer {
  const { data, width, rows, starts, lengths } = batch;
  let size = rows;
  for (let row = 0; row < rows; row++) size += Math.max(0, lengths[row * width]!);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    const start = starts[row * width]!;
    const length = Math.max(0, lengths[row * width]!);
    data.copy(bytes, at, start, start + length);
    const line = bytes.subarray(at, at + length);
    if (line.includes(10) || line.includes(13)) {
      for (let i = 0; i < length; i++) if (line[i] === 10 || line[i] === 13) line[i] = 32;
    }
    at += length;
    bytes[at++] = 10;
  }
  return bytes;
}
