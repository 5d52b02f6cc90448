import type { ModelField } from '../models/types';
import type { CopyBatch } from '../models/copy-stream';
import { ArrowIpcWriter, arrowSchema } from './arrow';
import { DerivedColumns } from './json-keys';
import type { FileEncoder } from './encoder';
import { ipcBuffer, newParquetFileId, requestParquetThread, type ParquetCodec } from './parquet-thread';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'brotli' | 'lz4' | null;

// lz4 is written as LZ4_RAW: the older LZ4 codec is deprecated and read inconsistently across readers.
const CODECS: Record<NonNullable<ParquetCompression>, ParquetCodec> = {
  zstd: 'ZSTD',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  brotli: 'BROTLI',
  lz4: 'LZ4_RAW',
};

/**
 * Rows per row group by default. A reader's unit of work and the writer's unit of memory: the thread holds one
 * group's pages until it is full. 25k event rows are ~30 MB before compression; 100k rows per group took the
 * worker's peak memory ~100 MB higher on a million-event export (docs/notes/issue-6-bench.md).
 */
export const DEFAULT_ROW_GROUP_ROWS = 25_000;

/**
 * One Parquet file. Rows become an Arrow record batch here (JSON columns as JSON text, timestamps as UTC
 * microseconds); the thread encodes, compresses and emits each row group's bytes. A Parquet file's footer lists its
 * row groups, so an unfinished file cannot be continued by another writer.
 */
export class ParquetEncoder implements FileEncoder {
  readonly continuable = false;
  private readonly file = newParquetFileId();
  private readonly ipc: ArrowIpcWriter;
  private readonly derived: DerivedColumns | null;
  private opened = false;
  // Requests for one file run one after the other: the thread's writer takes batches in order.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fields: readonly ModelField[],
    private readonly compression: ParquetCompression,
    /** Bytes leave the writer a row group at a time: smaller groups let a file end closer to a size limit. */
    private readonly rowGroupRows = DEFAULT_ROW_GROUP_ROWS,
    /** Parquet field ids of the columns (Iceberg data files), one per field. */
    fieldIds?: readonly number[],
    /** The rows were read with `readerDerives`: fields taken from another one's JSON are found in it here. */
    readerDerives = false,
  ) {
    this.ipc = new ArrowIpcWriter(arrowSchema(fields, fieldIds), fields);
    this.derived = readerDerives && DerivedColumns.needed(fields) ? new DerivedColumns(fields) : null;
  }

  encode(batch: CopyBatch): Promise<Buffer> {
    const ipc = this.ipc.write(this.derived ? this.derived.expand(batch) : batch, ipcBuffer);
    return this.enqueue(async () => {
      if (!this.opened) {
        this.opened = true;
        await requestParquetThread({
          kind: 'open',
          file: this.file,
          codec: this.compression ? CODECS[this.compression] : 'UNCOMPRESSED',
          rowGroupRows: this.rowGroupRows,
          // Dictionaries only pay off on repetitive columns; on JSON and uuids the writer would build one in vain.
          plainColumns: this.fields
            .filter((field) => field.type === 'json' || field.type === 'uuid')
            .map((f) => f.name),
        });
      }
      return requestParquetThread({
        kind: 'write',
        file: this.file,
        ipc: ipc.buffer as ArrayBuffer,
        length: ipc.length,
      });
    });
  }

  finish(): Promise<Buffer> {
    return this.enqueue(async () =>
      this.opened ? requestParquetThread({ kind: 'finish', file: this.file }) : Buffer.alloc(0),
    );
  }

  async discard(): Promise<void> {
    await this.tail.catch(() => undefined);
    if (this.opened) await requestParquetThread({ kind: 'discard', file: this.file }).catch(() => undefined);
  }

  private enqueue(work: () => Promise<Buffer>): Promise<Buffer> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
