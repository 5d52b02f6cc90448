import type { InsertActivityResult } from '../../temporal/contracts';
import type { Destination, InsertAttempt } from '../contract';
import { abortUnfinishedStoreUploads, writeIntervalToStore, type StoreOpener } from '../object-storage/write-interval';
import { acquireS3Client } from './client';
import type { S3DestinationConfig } from './config';
import { s3Store } from './store';

/** A kept S3 client for the attempt, and its bucket as an object store writing with the configured encryption. */
const S3_STORE: StoreOpener<S3DestinationConfig> = {
  name: 'S3',
  open(config, access) {
    const { client, release } = acquireS3Client(config, access);
    const store = s3Store(client, {
      bucket: config.bucket_name,
      encryption: config.encryption,
      kmsKeyId: config.kms_key_id,
    });
    return { store, close: release };
  },
};

/**
 * Streams the interval's rows to S3 and returns what it wrote, resuming from what earlier attempts recorded (see
 * writeIntervalToStore, shared with the other object stores).
 */
export async function writeIntervalToS3(attempt: InsertAttempt<S3DestinationConfig>): Promise<InsertActivityResult> {
  return writeIntervalToStore(attempt, S3_STORE);
}

/**
 * Aborts the interval's unfinished multipart uploads after a run failed for good or was cancelled: an attempt killed
 * mid-file leaves its upload behind, and only a retry would have continued it.
 */
export const abortUnfinishedUploads: NonNullable<Destination<S3DestinationConfig>['cleanUpAfterFailure']> = (attempt) =>
  abortUnfinishedStoreUploads(attempt, S3_STORE);
