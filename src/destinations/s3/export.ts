import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isRetryable } from '../../errors';
import type { FileEncoder } from '../../formats';
import type { CopyBatch } from '../../models/copy-stream';
import type { S3DestinationConfig } from './config';
import { classifyS3Error } from './errors';
import { manifestKey, objectKey } from './keys';
import { MultipartUpload, type PartJournal } from './multipart';
import { progressTotals, type ExportedFile, type FileMark, type S3ExportProgress } from './progress';

export interface S3ExportResult {
  records: number;
  bytes: number;
  files: ExportedFile[];
  manifestKey: string;
}

export interface S3ExportOptions {
  client: S3Client;
  config: S3DestinationConfig;
  /** The model's name, for `{table}` in the prefix. */
  table: string;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  /** A new encoder for each file (or continued file). */
  createEncoder: () => FileEncoder;
  /** The interval's rows in a stable order, after the given row cursor (from the start when null). */
  readRows: (after: string[] | null) => AsyncIterable<CopyBatch>;
  partSizeBytes: number;
  /** Where a previous attempt stopped; its unfinished file must already be checked (uploadStillHolds). */
  resumeFrom?: S3ExportProgress | null;
  signal?: AbortSignal;
  /** Called with durable progress only: what a retried attempt may continue from. */
  onProgress?: (progress: S3ExportProgress) => void;
  /** Where the parts of a file that can be continued are recorded before they are sent. */
  partJournal?: (key: string) => PartJournal<FileMark>;
  /** Called once a file is complete in S3, before anything more is written; the export waits for it. */
  onFileFinished?: (progress: S3ExportProgress) => Promise<void>;
}

/**
 * Encodes still in flight at once. Encoding runs off the event loop (libuv's pool, or a codec thread), so two keep
 * both cores busy while the next batch is read; more would only hold more batches in memory.
 */
const ENCODES_IN_FLIGHT = 2;

interface OpenFile {
  file: ExportedFile;
  upload: MultipartUpload<FileMark>;
  encoder: FileEncoder;
  cursor: string[] | null;
}

/**
 * Writes an interval's rows to S3: one file (or one per `max_file_size_mb`), uploaded in parts as it is produced,
 * then a manifest listing the files, last. An empty interval writes only the manifest. Progress is reported as parts
 * become durable; a retried attempt passes it back as `resumeFrom` and continues: after the last durable part when
 * the format allows, else from the start of the unfinished file. On a failure that will not be retried, the
 * unfinished upload is aborted.
 */
export async function exportToS3(options: S3ExportOptions): Promise<S3ExportResult> {
  const { client, config } = options;
  const keyInput = {
    prefix: config.prefix,
    table: options.table,
    dataIntervalStart: options.dataIntervalStart,
    dataIntervalEnd: options.dataIntervalEnd,
  };
  const maxFileBytes = config.max_file_size_mb ? config.max_file_size_mb * 1024 * 1024 : Infinity;
  const progress: S3ExportProgress = structuredClone(options.resumeFrom ?? { files: [], cursor: null, current: null });
  const report = () => options.onProgress?.(structuredClone(progress));

  const openFile = (): OpenFile => {
    const resumed = progress.current;
    const key =
      resumed?.key ??
      objectKey({
        ...keyInput,
        fileFormat: config.file_format,
        compression: config.compression,
        fileNumber: config.max_file_size_mb ? progress.files.length : undefined,
      });
    const file = { key, records: resumed?.mark.records ?? 0, bytes: 0 };
    const encoder = options.createEncoder();
    const upload = new MultipartUpload<FileMark>(
      client,
      {
        bucket: config.bucket_name,
        key,
        contentType: contentType(config),
        encryption: config.encryption,
        kmsKeyId: config.kms_key_id,
      },
      {
        partSize: options.partSizeBytes,
        resume: resumed ?? undefined,
        onDurable: (durable) => {
          if (!encoder.continuable) return;
          progress.current = { key, ...durable };
          report();
        },
        journal: encoder.continuable ? options.partJournal?.(key) : undefined,
      },
    );
    return { file, upload, encoder, cursor: resumed?.mark.cursor ?? progress.cursor };
  };
  let current: OpenFile | null = null;

  const closeFile = async () => {
    const open = current!;
    await open.upload.write(await open.encoder.finish(), { records: open.file.records, cursor: open.cursor ?? [] });
    await open.upload.complete();
    open.file.bytes = open.upload.bytesWritten;
    progress.files.push(open.file);
    progress.cursor = open.cursor;
    progress.current = null;
    current = null;
    await options.onFileFinished?.(structuredClone(progress));
    report();
  };

  // Batches whose encoding has started, oldest first; written to the upload in order.
  const pending: Array<{ encoded: Promise<Buffer>; count: number; cursor: string[] }> = [];
  const writeOldest = async () => {
    const batch = pending.shift()!;
    const bytes = await batch.encoded;
    const open = current!;
    open.file.records += batch.count;
    open.cursor = batch.cursor;
    await open.upload.write(bytes, { records: open.file.records, cursor: batch.cursor });
  };

  try {
    if (progress.current) current = openFile();
    for await (const batch of options.readRows(current?.cursor ?? progress.cursor)) {
      options.signal?.throwIfAborted();
      // Files roll over between batches, so one may exceed max_file_size_mb by the batches still encoding.
      if (current && current.upload.bytesWritten >= maxFileBytes) {
        while (pending.length) await writeOldest();
        await closeFile();
      }
      current ??= openFile();
      pending.push({ encoded: current.encoder.encode(batch), count: batch.rows, cursor: batch.cursor });
      if (pending.length >= ENCODES_IN_FLIGHT) await writeOldest();
    }
    while (pending.length) await writeOldest();
    if (current) await closeFile();
    const manifest = manifestKey(keyInput);
    await putManifest(client, config, manifest, { ...keyInput, files: progress.files });
    return { ...progressTotals(progress), files: progress.files, manifestKey: manifest };
  } catch (error) {
    await Promise.allSettled(pending.map((batch) => batch.encoded));
    const open = current as OpenFile | null;
    if (open) {
      await open.encoder.discard();
      // A retried attempt continues the upload; otherwise nothing will, and it would cost the user storage.
      const retried =
        open.encoder.continuable &&
        !options.signal?.aborted &&
        isRetryable(classifyS3Error(error, { bucket: config.bucket_name }).kind);
      if (!retried) await open.upload.abort();
    }
    throw error;
  }
}

function contentType(config: S3DestinationConfig): string {
  if (config.file_format === 'Parquet') return 'application/vnd.apache.parquet';
  return config.compression ? 'application/octet-stream' : 'application/x-ndjson';
}

async function putManifest(
  client: S3Client,
  config: S3DestinationConfig,
  key: string,
  content: { dataIntervalStart: Date; dataIntervalEnd: Date; files: ExportedFile[] },
): Promise<void> {
  const body = JSON.stringify({
    data_interval_start: content.dataIntervalStart.toISOString(),
    data_interval_end: content.dataIntervalEnd.toISOString(),
    records: content.files.reduce((sum, file) => sum + file.records, 0),
    files: content.files,
  });
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: config.bucket_name,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ServerSideEncryption: config.encryption ?? undefined,
        SSEKMSKeyId: config.kms_key_id ?? undefined,
      }),
    );
  } catch (error) {
    throw classifyS3Error(error, { bucket: config.bucket_name, key });
  }
}
