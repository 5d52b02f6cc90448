import type { S3Client } from '@aws-sdk/client-s3';
import { abortStoredUploadsUnder } from '../object-storage/progress';
import { s3Store } from '../s3/store';
import type { TableContext } from './commit';
import { decodeManifest, decodeManifestList } from './manifests';
import type { TableMetadata } from './metadata';
import { deleteFiles, getFile, keyOf, listFiles } from './table-files';

/**
 * Aborts the unfinished multipart uploads of the interval's data files (names start with its tag) under the table's
 * `data/`: an attempt killed mid-file leaves its upload behind, and the next attempt writes under a new name, so
 * nothing would ever complete or abort it. Uploads of other intervals are left alone (another run may be writing).
 */
export async function abortIntervalUploads(
  client: S3Client,
  bucket: string,
  tableLocation: string,
  tag: string,
): Promise<number> {
  const store = s3Store(client, { bucket });
  const dataPrefix = `${keyOf(bucket, tableLocation)}/data/`;
  const ofInterval = {
    ...store,
    async *unfinishedUploads(prefix: string) {
      for await (const upload of store.unfinishedUploads(prefix)) {
        if (upload.key.slice(upload.key.lastIndexOf('/') + 1).startsWith(`${tag}-`)) yield upload;
      }
    },
  };
  return abortStoredUploadsUnder(ofInterval, dataPrefix);
}

export interface OrphanCleanUp {
  deletedFiles: number;
  /** False when the table moved on while the files were being checked: nothing was deleted. */
  checked: boolean;
}

/**
 * Deletes the files under the table's `data/` that are older than `minAgeMs` and that no snapshot still in the
 * metadata lists (in any manifest entry, deleted ones included): data files of attempts killed before their commit.
 * Age is what keeps an in-flight attempt's files safe (they are not in a snapshot until it commits), so the bound
 * must exceed the longest an attempt writes and commits. Nothing is deleted when the catalog no longer points at
 * `committed` after the check: a commit in between may have added files this check did not see.
 */
export async function removeOrphanFiles(
  context: TableContext,
  committed: { metadata: TableMetadata; location: string },
  minAgeMs: number,
  now = new Date(),
): Promise<OrphanCleanUp> {
  const { client, config, catalog } = context;
  const bucket = config.bucket_name;
  const cutoff = now.getTime() - minAgeMs;
  const old: string[] = [];
  for await (const file of listFiles(client, bucket, `${committed.metadata.location}/data/`)) {
    if (file.lastModified.getTime() < cutoff) old.push(file.location);
  }
  if (old.length === 0) return { deletedFiles: 0, checked: true };
  const referenced = await referencedDataFiles(context, committed.metadata);
  const orphans = old.filter((location) => !referenced.has(location));
  if ((await catalog.currentMetadataLocation()) !== committed.location) return { deletedFiles: 0, checked: false };
  return { deletedFiles: await deleteFiles(client, bucket, orphans), checked: true };
}

/** Every data file a manifest of any snapshot in the metadata names; each manifest is read once. */
async function referencedDataFiles(context: TableContext, metadata: TableMetadata): Promise<Set<string>> {
  const { client, config } = context;
  const bucket = config.bucket_name;
  const manifests = new Set<string>();
  for (const snapshot of metadata.snapshots) {
    for (const manifest of await decodeManifestList(await getFile(client, bucket, snapshot['manifest-list']))) {
      manifests.add(manifest.manifest_path);
    }
  }
  const files = new Set<string>();
  for (const manifest of manifests) {
    for (const entry of await decodeManifest(await getFile(client, bucket, manifest)))
      files.add(entry.data_file.file_path);
  }
  return files;
}
