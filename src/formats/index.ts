import type { CopyBatch } from '../models/copy-stream';
import type { ModelField } from '../models/types';
import { createCompressor, type TextCompression } from './compression';
import type { FileEncoder } from './encoder';
import { JsonLinesWriter } from './json-lines';
import { giveBackJsonLines, writeJsonLinesOnThread } from './json-lines-thread';
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
      /**
       * Rows read with copyColumnsQuery and `readerDerives`: the encoder takes the fields derived from another's
       * JSON from it (DerivedColumns), as the JSON-lines writer does, instead of Postgres parsing the JSON.
       */
      readerDerives?: boolean;
    };

export function createFileEncoder(options: EncoderOptions): FileEncoder {
  return options.format === 'Parquet'
    ? new ParquetEncoder(
        options.fields,
        options.compression,
        options.rowGroupRows,
        options.fieldIds,
        options.readerDerives,
      )
    : new JsonLinesEncoder(options.fields, options.compression);
}

/**
 * Batches of fewer rows are written on the event loop: a small export (most intervals) does not wait for a thread
 * to start or for a round trip to it.
 */
const THREAD_MIN_ROWS = 1000;

/** Rows of typed columns (copyColumnsQuery with `readerDerives`), one JSON line each. */
class JsonLinesEncoder implements FileEncoder {
  private readonly writer: JsonLinesWriter;
  private readonly fieldsKey: string;
  private readonly compressor;
  /** Resolves once the last batch's lines went to the compressor, which takes them in call order. */
  private compressing: Promise<unknown> = Promise.resolve();
  readonly continuable: boolean;

  constructor(
    private readonly fields: readonly ModelField[],
    compression: TextCompression,
  ) {
    this.writer = new JsonLinesWriter(fields);
    this.fieldsKey = JSON.stringify(fields);
    this.compressor = createCompressor(compression);
    this.continuable = this.compressor.chunksAreIndependent;
  }

  encode(batch: CopyBatch): Promise<Buffer> {
    const onThread = batch.rows >= THREAD_MIN_ROWS;
    const lines = onThread
      ? writeJsonLinesOnThread(this.fields, this.fieldsKey, batch)
      : Promise.resolve(this.writer.write(batch));
    // An object, so that the compression's promise is not awaited here: the next batch's may start meanwhile.
    const started = Promise.all([lines, this.compressing]).then(([bytes]) => ({
      bytes,
      compressed: this.compressor.compress(bytes),
    }));
    this.compressing = started.catch(() => undefined);
    return started.then(async ({ bytes, compressed }) => {
      const result = await compressed;
      // The compressor is done with the lines: the thread may write later ones into their buffer.
      if (onThread && result.buffer !== bytes.buffer) giveBackJsonLines(bytes);
      return result;
    });
  }

  finish(): Promise<Buffer> {
    // After every batch's lines went to the compressor.
    return this.compressing.then(() => this.compressor.finish());
  }

  async discard(): Promise<void> {
    await this.compressing;
    await this.compressor.finish().catch(() => undefined);
  }
}
