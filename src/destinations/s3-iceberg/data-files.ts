import type { S3Client } from '@aws-sdk/client-s3';
import { createFileEncoder, type FileEncoder } from '../../formats';
import type { CopyBatch } from '../../models/copy-stream';
import type { ModelField } from '../../models/types';
import { MultipartUpload } from '../s3/multipart';
import type { PartitionGrain } from './config';
import { partitionPath, transformTimestamp, type PartitionSpec } from './schema';

/** A Parquet data file written to the table location, not yet in any snapshot. */
export interface WrittenFile {
  /** `s3://bucket/key`, as manifests name files. */
  path: string;
  key: string;
  /** The partition value (see transformTimestamp); null when unpartitioned or the row's timestamp is null. */
  partition: number | null;
  records: number;
  bytes: number;
}

export interface DataFilesOptions {
  client: S3Client;
  bucket: string;
  /** The key of the table location (no trailing slash). */
  locationKey: string;
  spec: PartitionSpec;
  fields: readonly ModelField[];
  fieldIds: readonly number[];
  compression: 'zstd' | 'snappy' | 'gzip';
  /** Starts every file name: the interval's tag, then what makes the attempt's names its own. */
  fileTag: string;
  rows: AsyncIterable<CopyBatch>;
  partSizeBytes: number;
  signal?: AbortSignal;
}

/** Postgres counts binary timestamps in microseconds from 2000-01-01 UTC; Iceberg from 1970-01-01. */
const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;

interface OpenFile {
  file: WrittenFile;
  encoder: FileEncoder;
  upload: MultipartUpload<null>;
}

/**
 * Writes the rows as Parquet data files, one per partition value met (an Iceberg data file holds one partition):
 * an hourly interval under a daily spec writes one file, a daily interval under an hourly spec up to 24. Each file
 * is uploaded in parts as its row groups are produced. Nothing refers to the files until a snapshot commits them;
 * on failure the unfinished uploads are aborted, and finished files stay as orphans no snapshot lists.
 */
export async function writeDataFiles(options: DataFilesOptions): Promise<WrittenFile[]> {
  const { spec, fields } = options;
  const transform = spec.fields[0]?.transform as Exclude<PartitionGrain, 'none'> | undefined;
  const sourceId = spec.fields[0]?.['source-id'];
  const column = transform ? fields.findIndex((_, i) => options.fieldIds[i] === sourceId) : -1;
  const open = new Map<number | null, OpenFile>();
  const finished: WrittenFile[] = [];

  const openFile = (partition: number | null): OpenFile => {
    const directory = partitionPath(spec, partition);
    const key = `${options.locationKey}/data/${directory ? `${directory}/` : ''}${options.fileTag}-${finished.length + open.size}.parquet`;
    const encoder = createFileEncoder({
      format: 'Parquet',
      compression: options.compression,
      fields,
      fieldIds: options.fieldIds,
    });
    const upload = new MultipartUpload<null>(
      options.client,
      { bucket: options.bucket, key, contentType: 'application/vnd.apache.parquet' },
      { partSize: options.partSizeBytes },
    );
    return { file: { path: `s3://${options.bucket}/${key}`, key, partition, records: 0, bytes: 0 }, encoder, upload };
  };

  try {
    for await (const batch of options.rows) {
      options.signal?.throwIfAborted();
      const parts = column < 0 ? new Map([[null, batch]]) : splitByPartition(batch, column, transform!);
      for (const [partition, rows] of parts) {
        let target = open.get(partition);
        if (!target) open.set(partition, (target = openFile(partition)));
        const bytes = await target.encoder.encode(rows);
        target.file.records += rows.rows;
        await target.upload.write(bytes, null);
      }
    }
    for (const [partition, target] of open) {
      await target.upload.write(await target.encoder.finish(), null);
      await target.upload.complete(options.signal);
      target.file.bytes = target.upload.bytesWritten;
      finished.push(target.file);
      open.delete(partition);
    }
    return finished;
  } catch (error) {
    await Promise.allSettled(
      [...open.values()].map(async (target) => {
        await target.encoder.discard();
        await target.upload.abort();
      }),
    );
    throw error;
  }
}

/**
 * The batch's rows by partition value of the timestamp in `column` (binary COPY: int8 microseconds since 2000).
 * Rows of one value (the usual case: the interval lies within one partition) come back as the batch itself; else
 * each value gets a batch sharing the bytes, with its rows' offsets.
 */
export function splitByPartition(
  batch: CopyBatch,
  column: number,
  grain: Exclude<PartitionGrain, 'none'>,
): Map<number | null, CopyBatch> {
  const { data, width, rows, starts, lengths } = batch;
  const values: Array<number | null> = new Array(rows);
  const distinct = new Set<number | null>();
  for (let row = 0; row < rows; row++) {
    const at = row * width + column;
    const value =
      lengths[at]! < 0 ? null : transformTimestamp(data.readBigInt64BE(starts[at]!) + POSTGRES_EPOCH_MICROS, grain);
    values[row] = value;
    distinct.add(value);
  }
  if (distinct.size <= 1) return new Map([[values[0] ?? null, batch]]);
  const split = new Map<number | null, CopyBatch>();
  for (const value of distinct) {
    const picked: number[] = [];
    for (let row = 0; row < rows; row++) if (values[row] === value) picked.push(row);
    const subStarts = new Int32Array(picked.length * width);
    const subLengths = new Int32Array(picked.length * width);
    picked.forEach((row, i) => {
      subStarts.set(starts.subarray(row * width, (row + 1) * width), i * width);
      subLengths.set(lengths.subarray(row * width, (row + 1) * width), i * width);
    });
    split.set(value, { ...batch, rows: picked.length, starts: subStarts, lengths: subLengths });
  }
  return split;
}
