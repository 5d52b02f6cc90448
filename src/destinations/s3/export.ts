import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createCompressor } from '../../formats/compression';
import { classifyS3Error } from './errors';
import type { S3DestinationConfig } from './config';
import { manifestKey, objectKey } from './keys';
import { MultipartUpload } from './multipart';

export interface ExportedFile {
  key: string;
  records: number;
  bytes: number;
}

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
  /** JSON lines, batch by batch, in a stable order. */
  lines: AsyncIterable<string[]>;
  partSizeBytes: number;
  signal?: AbortSignal;
  onProgress?: (progress: { records: number; bytes: number }) => void;
}

/**
 * Compressions in flight at once. Compression runs on the thread pool, so two keep both cores busy while the event
 * loop reads the next batch; more would only hold more batches in memory.
 */
const COMPRESSIONS_IN_FLIGHT = 2;

/**
 * Writes an interval's rows to S3 as JSON lines: one file (or one per `max_file_size_mb`), uploaded in parts as it
 * is produced, then a manifest listing the files. Nothing is written for the rows of an empty interval but the
 * manifest. On failure every unfinished upload is aborted.
 */
export async function exportJsonLinesToS3(options: S3ExportOptions): Promise<S3ExportResult> {
  const { client, config } = options;
  const keyInput = {
    prefix: config.prefix,
    table: options.table,
    dataIntervalStart: options.dataIntervalStart,
    dataIntervalEnd: options.dataIntervalEnd,
  };
  const maxFileBytes = config.max_file_size_mb ? config.max_file_size_mb * 1024 * 1024 : Infinity;
  const files: ExportedFile[] = [];
  let records = 0;
  let bytes = 0;

  let current: { upload: MultipartUpload; file: ExportedFile; compressor: ReturnType<typeof createCompressor> } | null =
    null;
  const openFile = () => {
    const key = objectKey({
      ...keyInput,
      fileFormat: 'JSONLines',
      compression: config.compression as 'gzip' | 'brotli' | null,
      fileNumber: config.max_file_size_mb ? files.length : undefined,
    });
    const upload = new MultipartUpload(
      client,
      {
        bucket: config.bucket_name,
        key,
        contentType: config.compression ? 'application/octet-stream' : 'application/x-ndjson',
        encryption: config.encryption,
        kmsKeyId: config.kms_key_id,
      },
      options.partSizeBytes,
    );
    const file = { key, records: 0, bytes: 0 };
    files.push(file);
    return { upload, file, compressor: createCompressor(config.compression as 'gzip' | 'brotli' | null) };
  };
  const closeFile = async () => {
    if (!current) return;
    const tail = await current.compressor.finish();
    await current.upload.write(tail);
    bytes += tail.length;
    await current.upload.complete();
    current.file.bytes = current.upload.bytesWritten;
    current = null;
  };

  // Batches whose compression has started, oldest first; written to the upload in order.
  const pending: Array<{ compressed: Promise<Buffer>; count: number }> = [];
  const writeOldest = async () => {
    const batch = pending.shift()!;
    const compressed = await batch.compressed;
    await current!.upload.write(compressed);
    current!.file.records += batch.count;
    records += batch.count;
    bytes += compressed.length;
    options.onProgress?.({ records, bytes });
  };

  try {
    for await (const lines of options.lines) {
      options.signal?.throwIfAborted();
      // Files roll over between batches, so one may exceed max_file_size_mb by the batches still compressing.
      if (current && current.upload.bytesWritten >= maxFileBytes) {
        while (pending.length) await writeOldest();
        await closeFile();
      }
      current ??= openFile();
      pending.push({ compressed: current.compressor.compress(encodeLines(lines)), count: lines.length });
      if (pending.length >= COMPRESSIONS_IN_FLIGHT) await writeOldest();
    }
    while (pending.length) await writeOldest();
    await closeFile();
    const manifest = manifestKey(keyInput);
    await putManifest(client, config, manifest, { ...keyInput, files, records });
    return { records, bytes, files, manifestKey: manifest };
  } catch (error) {
    await Promise.allSettled(pending.map((batch) => batch.compressed));
    await current?.upload.abort();
    throw error;
  }
}

/** JSON lines of a batch, one per row. Raw newlines can only be whitespace between JSON tokens: they become spaces. */
function encodeLines(lines: string[]): Buffer {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.includes('\n') || line.includes('\r')) lines[i] = line.replace(/[\r\n]/g, ' ');
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

async function putManifest(
  client: S3Client,
  config: S3DestinationConfig,
  key: string,
  content: { dataIntervalStart: Date; dataIntervalEnd: Date; files: ExportedFile[]; records: number },
): Promise<void> {
  const body = JSON.stringify({
    data_interval_start: content.dataIntervalStart.toISOString(),
    data_interval_end: content.dataIntervalEnd.toISOString(),
    records: content.records,
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
