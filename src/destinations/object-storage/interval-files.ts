import { createHash } from 'node:crypto';
import type { ObjectStore } from './store';

/**
 * What an interval's objects end with when it is exported again: the new export's files and manifest only. The keys
 * are deterministic, so the new files overwrite the old ones; the files the old export wrote besides (it split the
 * interval into more files) are deleted here, before the new manifest is written. The interval is listed once, before
 * the new export's first file (listStoredKeys): the listing says whether there is an old manifest to delete, and which
 * old files to delete at the end (deleteListedObjectsNotIn). Replacing an interval that holds nothing yet costs that
 * one request.
 */

/** Why the stale files of an interval could not be removed; the export goes on, its manifest lists what is current. */
export class StaleFilesNotRemoved extends Error {
  override name = 'StaleFilesNotRemoved';
}

/**
 * The keys of the objects under the interval's key prefix. Credentials allowed to write but not to list:
 * StaleFilesNotRemoved, for the run's log.
 */
export async function listStoredKeys(store: ObjectStore, intervalPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const key of store.listKeys(intervalPrefix)) keys.push(key);
  } catch (error) {
    throw staleFilesError(store, error, intervalPrefix);
  }
  return keys;
}

/**
 * Deletes the objects of `listed` (keys listed before the export wrote) that are not in `keep`. Returns their keys.
 * Credentials allowed to write but not to delete leave them in place: StaleFilesNotRemoved, for the run's log.
 */
export async function deleteListedObjectsNotIn(
  store: ObjectStore,
  listed: readonly string[],
  keep: ReadonlySet<string>,
): Promise<string[]> {
  const deleted: string[] = [];
  for (const key of listed) {
    if (keep.has(key)) continue;
    try {
      await store.deleteObject(key);
    } catch (error) {
      throw staleFilesError(store, error, key);
    }
    deleted.push(key);
  }
  return deleted;
}

/**
 * Deletes the objects under the interval's key prefix that `isFile` takes for one of the interval's files and that
 * are not in `keep`, listing them now (S3's deleteObjectsNotIn; the export lists once, before its first file, instead).
 * Returns their keys. A refusal to list or delete: StaleFilesNotRemoved.
 */
export async function deleteStoredObjectsNotIn(
  store: ObjectStore,
  intervalPrefix: string,
  keep: ReadonlySet<string>,
  isFile: (key: string) => boolean,
): Promise<string[]> {
  const files = (await listStoredKeys(store, intervalPrefix)).filter(isFile);
  return deleteListedObjectsNotIn(store, files, keep);
}

/** A refused listing or deletion of stale files as the warning it becomes; any other error, classified. */
function staleFilesError(store: ObjectStore, error: unknown, key: string): Error {
  const classified = store.classify(error, key);
  if (classified.kind !== 'permission') return classified;
  return new StaleFilesNotRemoved(
    `Files an earlier export of this interval wrote could not be listed or deleted: grant ${store.deleteGrant} ` +
      `to have them removed (${(error as Error).name} on ${store.where})`,
    { cause: error },
  );
}

/** Deletes one object (an interval's old manifest); credentials that may not delete leave it. */
export async function deleteStoredObjectIfAllowed(store: ObjectStore, key: string): Promise<boolean> {
  try {
    await store.deleteObject(key);
    return true;
  } catch (error) {
    const classified = store.classify(error, key);
    if (classified.kind === 'permission') return false;
    throw classified;
  }
}

/**
 * The SHA-256 of an object, read back from the store. Only for a file a resumed attempt finished: its first parts
 * were uploaded by an earlier process, so its hash could not be computed while streaming. Null when the credentials
 * may not read: the manifest then has no checksum for that file, rather than the run failing.
 */
export async function sha256OfStoredObject(store: ObjectStore, key: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of await store.readObject(key)) hash.update(chunk);
    return hash.digest('hex');
  } catch (error) {
    const classified = store.classify(error, key);
    if (classified.kind === 'permission') return null;
    throw classified;
  }
}
