import type { S3Client } from '@aws-sdk/client-s3';
import { exportObjects, type ObjectExportOptions, type ObjectExportResult } from '../object-storage/export';
import type { S3DestinationConfig } from './config';
import { s3Store } from './store';

// The export itself is shared with the other object stores (src/destinations/object-storage/export.ts).
export type { CheckedFile } from '../object-storage/export';
export type S3ExportResult = ObjectExportResult;

export type S3ExportOptions = Omit<ObjectExportOptions, 'store' | 'config'> & {
  client: S3Client;
  config: S3DestinationConfig;
};

/**
 * Writes an interval's rows to S3: one file (or one per `max_file_size_mb`), uploaded in parts as it is produced,
 * then a manifest listing the files, last (see exportObjects). Objects are written with the configured encryption.
 */
export async function exportToS3(options: S3ExportOptions): Promise<S3ExportResult> {
  const { client, config, ...rest } = options;
  const store = s3Store(client, {
    bucket: config.bucket_name,
    encryption: config.encryption,
    kmsKeyId: config.kms_key_id,
  });
  return exportObjects({ ...rest, store, config });
}
