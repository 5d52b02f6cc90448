import type { CopyBatch } from '../models/copy-stream';

/**
 * Turns rows (as Postgres's binary COPY sent them) into the bytes of one file, batch by batch. `encode` may be called
 * again before the previous call resolved; results come in call order, and are the file's next bytes (maybe none yet,
 * e.g. while a Parquet row group fills). `encode` reads all it needs of the batch before it returns: the caller may
 * release the batch then (CopyBatch.release). `finish` returns the last bytes; `discard` drops an unfinished file. Its own
 * module, so that the encoders import it without a circle through index.ts.
 */
export interface FileEncoder {
  encode(batch: CopyBatch): Promise<Buffer>;
  finish(): Promise<Buffer>;
  discard(): Promise<void>;
  /**
   * True when a new encoder can continue a file after any `encode` result (gzip members, zstd frames, plain
   * text), so a retried export resumes mid-file; false when the file must be written again from its start.
   */
  readonly continuable: boolean;
}
