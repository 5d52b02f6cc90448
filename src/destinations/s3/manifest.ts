import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3DestinationConfig } from './config';
import { classifyS3Error } from './errors';

/** A column of the exported rows, as the manifest describes it. */
export interface ManifestField {
  name: string;
  /** The model's field type: string, integer, float, boolean, timestamp, json or uuid. */
  type: string;
}

export interface ManifestContent {
  model: string;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  records: number;
  bytes: number;
  /** Rows the source held for the interval, counted in the snapshot the files were read from. */
  sourceRecords: number | null;
  /** `sha256` is null only for a file a resumed attempt finished and could not read back. */
  files: Array<{ key: string; records: number; bytes: number; sha256: string | null }>;
  schema: readonly ManifestField[] | null;
}

/** Version 2 added the receipt: bytes, SHA-256s, source_records, model, format and schema. */
const MANIFEST_VERSION = 2;

/**
 * The interval's manifest, written last: its presence says the interval is complete, and it carries what a consumer
 * needs to verify the files without asking the API (row counts, sizes and SHA-256 per file, totals, the source's
 * own count, the rows' schema). README "Verifying an interval" shows how.
 */
export function manifestBody(config: S3DestinationConfig, content: ManifestContent): string {
  return JSON.stringify({
    version: MANIFEST_VERSION,
    model: content.model,
    data_interval_start: content.dataIntervalStart.toISOString(),
    data_interval_end: content.dataIntervalEnd.toISOString(),
    file_format: config.file_format,
    compression: config.compression,
    records: content.records,
    bytes: content.bytes,
    source_records: content.sourceRecords,
    files: content.files.map((file) => ({
      key: file.key,
      records: file.records,
      bytes: file.bytes,
      sha256: file.sha256,
    })),
    schema: content.schema,
  });
}

export async function putManifest(
  client: S3Client,
  config: S3DestinationConfig,
  key: string,
  content: ManifestContent,
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: config.bucket_name,
        Key: key,
        Body: manifestBody(config, content),
        ContentType: 'application/json',
        ServerSideEncryption: config.encryption ?? undefined,
        SSEKMSKeyId: config.kms_key_id ?? undefined,
      }),
    );
  } catch (error) {
    throw classifyS3Error(error, { bucket: config.bucket_name, key });
  }
}
