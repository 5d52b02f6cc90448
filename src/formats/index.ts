import type { ModelField } from '../models/types';
import { createCompressor, type TextCompression } from './compression';
import { ParquetEncoder, type ParquetCompression } from './parquet';

export type FileFormat = 'JSONLines' | 'Parquet';

/**
 * Turns rows into the bytes of one file, batch by batch. `encode` may be called again before the previous call
 * resolved; results come in call order, and are the file's next bytes (maybe none yet, e.g. while a Parquet row
 * group fills). `finish` returns the last bytes; `discard` drops an unfinished file.
 */
export interface FileEncoder {
  encode(rows: unknown[][]): Promise<Buffer>;
  finish(): Promise<Buffer>;
  discard(): Promise<void>;
  /**
   * True when a new encoder can continue a file after any `encode` result (gzip members, zstd frames, plain
   * text), so a retried export resumes mid-file; false when the file must be written again from its start.
   */
  readonly continuable: boolean;
}

export type EncoderOptions =
  | { format: 'JSONLines'; compression: TextCompression }
  | { format: 'Parquet'; compression: ParquetCompression; fields: readonly ModelField[]; rowGroupRows?: number };

export function createFileEncoder(options: EncoderOptions): FileEncoder {
  return options.format === 'Parquet'
    ? new ParquetEncoder(options.fields, options.compression, options.rowGroupRows)
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

  encode(rows: unknown[][]): Promise<Buffer> {
    return this.compressor.compress(encodeLines(rows));
  }

  finish(): Promise<Buffer> {
    return this.compressor.finish();
  }

  async discard(): Promise<void> {
    await this.compressor.finish().catch(() => undefined);
  }
}

/**
 * JSON lines of a batch, one per row, written straight into one buffer of the exact size: joining the lines into
 * one string first would hold the batch twice more (and as UTF-16 when any character is outside Latin-1). JSON text
 * from Postgres has no raw newline inside strings but may have whitespace ones (json keeps the input's
 * formatting): they become spaces, which JSON treats alike.
 */
export function encodeLines(rows: unknown[][]): Buffer {
  let size = rows.length;
  for (let i = 0; i < rows.length; i++) size += Buffer.byteLength(rows[i]![0] as string, 'utf8');
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < rows.length; i++) {
    const line = rows[i]![0] as string;
    const start = at;
    at += bytes.write(line, at, 'utf8');
    if (line.includes('\n') || line.includes('\r')) {
      for (let j = start; j < at; j++) if (bytes[j] === 10 || bytes[j] === 13) bytes[j] = 32;
    }
    bytes[at++] = 10;
  }
  return bytes;
}
