import type { S3Client } from '@aws-sdk/client-s3';
import type { PlannedPart } from '../../db/run-progress';
import {
  abortStoredUploadsUnder,
  recoverStoredProgress,
  storeStillHolds,
  type ObjectExportProgress,
} from '../object-storage/progress';
import { s3Store } from './store';

// What an attempt has durably written is the same for every object store (src/destinations/object-storage/progress.ts).
export {
  ObjectExportProgress as S3ExportProgress,
  parseProgress,
  progressTotals,
  type ExportedFile,
  type FileMark,
} from '../object-storage/progress';

/** recoverStoredProgress for an S3 bucket: the unfinished file's parts S3 holds, checked against what was planned. */
export async function recoverProgress(
  client: S3Client,
  bucket: string,
  saved: ObjectExportProgress | null,
  planned: PlannedPart[],
): Promise<ObjectExportProgress> {
  return recoverStoredProgress(s3Store(client, { bucket }), saved, planned);
}

/** True when S3 still holds the parts the heartbeat lists for the unfinished file (see storeStillHolds). */
export async function uploadStillHolds(
  client: S3Client,
  bucket: string,
  current: NonNullable<ObjectExportProgress['current']>,
): Promise<boolean> {
  return storeStillHolds(s3Store(client, { bucket }), current);
}

/** Aborts the unfinished multipart uploads under `prefix` (an interval's key prefix), except `keep`. */
export async function abortUploadsUnder(
  client: S3Client,
  bucket: string,
  prefix: string,
  keep?: string,
): Promise<number> {
  return abortStoredUploadsUnder(s3Store(client, { bucket }), prefix, keep);
}
