import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { classifyS3Error } from './errors';

/**
 * What an interval's objects end with when it is exported again: the new export's files and manifest only. The keys
 * are deterministic, so the new files overwrite the old ones; the files the old export wrote besides (it split the
 * interval into more files) are deleted here, before the new manifest is written.
 */

/** Why the stale files of an interval could not be removed; the export goes on, its manifest lists what is current. */
export class StaleFilesNotRemoved extends Error {
  override name = 'StaleFilesNotRemoved';
}

/**
 * Deletes the objects under the interval's key prefix that `isFile` takes for one of the interval's files and that
 * are not in `keep`. Returns their keys. Credentials allowed to write but not to list or delete leave them in place:
 * StaleFilesNotRemoved, for the run's log.
 */
export async function deleteObjectsNotIn(
  client: S3Client,
  bucket: string,
  intervalPrefix: string,
  keep: ReadonlySet<string>,
  isFile: (key: string) => boolean,
): Promise<string[]> {
  const deleted: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: intervalPrefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || keep.has(object.Key) || !isFile(object.Key)) continue;
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
        deleted.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    const classified = classifyS3Error(error, { bucket, key: intervalPrefix });
    if (classified.kind === 'permission') {
      throw new StaleFilesNotRemoved(
        `Files an earlier export of this interval wrote could not be listed or deleted: grant s3:ListBucket and ` +
          `s3:DeleteObject on the prefix to have them removed (${(error as Error).name} on bucket "${bucket}")`,
        { cause: error },
      );
    }
    throw classified;
  }
  return deleted;
}

/** Deletes one object (an interval's old manifest); credentials without s3:DeleteObject leave it. */
export async function deleteObjectIfAllowed(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const classified = classifyS3Error(error, { bucket, key });
    if (classified.kind === 'permission') return false;
    throw classified;
  }
}

/**
 * The SHA-256 of an object, read back from S3. Only for a file a resumed attempt finished: its first parts were
 * uploaded by an earlier process, so its hash could not be computed while streaming. Null when the credentials may
 * not read (s3:GetObject): the manifest then has no checksum for that file, rather than the run failing.
 */
export async function sha256OfObject(client: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const hash = createHash('sha256');
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest('hex');
  } catch (error) {
    const classified = classifyS3Error(error, { bucket, key });
    if (classified.kind === 'permission') return null;
    throw classified;
  }
}
