import type { CopyBatch } from '../models/copy-stream';
import type { ModelField } from '../models/types';
import { createCompressor, type TextCompression } from './compression';
import type { FileEncoder } from './encoder';
import { ParquetEncoder, type ParquetCompression } from './parquet';

export type FileFormat = 'JSONLines' | 'Parquet';

export type { FileEncoder } from './encoder';

export type EncoderOptions =
  | { format: 'JSONLines'; compression: TextCompression }
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
    : new JsonLinesEncoder(options.compression);
}

/** Rows holding a JSON object as text in their first column (jsonLinesQuery), one line each. */
class JsonLinesEncoder implements FileEncoder {
  private readonly compressor;
  readonly continuable: boolean;

  constructor(compression: TextCompression) {
    this.compressor = createCompressor(compression);
    this.continuable = this.compressor.chunksAreIndependent;
  }

  encode(batch: CopyBatch): Promise<Buffer> {
    return this.compressor.compress(encodeLines(batch));
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
