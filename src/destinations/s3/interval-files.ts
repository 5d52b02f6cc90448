import type { S3Client } from '@aws-sdk/client-s3';
import {
  deleteStoredObjectIfAllowed,
  deleteStoredObjectsNotIn,
  sha256OfStoredObject,
} from '../object-storage/interval-files';
import { s3Store } from './store';

// An interval's files are handled alike in every object store (src/destinations/object-storage/interval-files.ts).
export { StaleFilesNotRemoved } from '../object-storage/interval-files';

/** Deletes the interval's files under `intervalPrefix` that are not in `keep` (see deleteStoredObjectsNotIn). */
export async function deleteObjectsNotIn(
  client: S3Client,
  bucket: string,
  intervalPrefix: string,
  keep: ReadonlySet<string>,
  isFile: (key: string) => boolean,
): Promise<string[]> {
  return deleteStoredObjectsNotIn(s3Store(client, { bucket }), intervalPrefix, keep, isFile);
}

/** Deletes one object (an interval's old manifest); credentials without s3:DeleteObject leave it. */
export async function deleteObjectIfAllowed(client: S3Client, bucket: string, key: string): Promise<boolean> {
  return deleteStoredObjectIfAllowed(s3Store(client, { bucket }), key);
}

/** The SHA-256 of an object, read back from S3; null when the credentials may not read it. */
export async function sha256OfObject(client: S3Client, bucket: string, key: string): Promise<string | null> {
  return sha256OfStoredObject(s3Store(client, { bucket }), key);
}
