import type { TableContext } from './commit';
import { decodeManifest, decodeManifestList } from './manifests';
import { metadataFileName, withoutOldSnapshots, type Snapshot, type TableMetadata } from './metadata';
import { deleteFiles, getFile, putFile } from './table-files';

export interface Expiry {
  expiredSnapshots: number;
  deletedFiles: number;
}

/**
 * Expires the snapshots of main older than its newest `keep`, as a commit of its own (skipped when another commit
 * came first: the next interval's expiry does it), then deletes what only they referenced: their manifest lists,
 * manifests no kept snapshot lists, and the data files that overwrites up to the oldest kept snapshot deleted (live
 * only in expired snapshots). A kept snapshot's files are never touched: later snapshots only carry manifests of the
 * oldest kept one's list or add new ones. A retried run whose snapshot was expired overwrites its interval again,
 * so rows stay exactly once.
 */
export async function expireSnapshots(
  context: TableContext,
  committed: { metadata: TableMetadata; location: string },
  keep: number,
): Promise<Expiry> {
  const { client, config, catalog } = context;
  const bucket = config.bucket_name;
  const next = withoutOldSnapshots(committed.metadata, committed.location, keep);
  if (!next) return { expiredSnapshots: 0, deletedFiles: 0 };
  const version = Number(/\/(\d+)-[^/]*\.metadata\.json$/.exec(committed.location)?.[1] ?? 0) + 1;
  const location = metadataFileName(committed.metadata.location, version);
  await putFile(client, bucket, location, JSON.stringify(next.metadata));
  if (!(await catalog.swapMetadataLocation(committed.location, location, next.metadata))) {
    await deleteFiles(client, bucket, [location]);
    return { expiredSnapshots: 0, deletedFiles: 0 };
  }
  const listOf = async (snapshot: Snapshot) =>
    decodeManifestList(await getFile(client, bucket, snapshot['manifest-list']));
  const keptManifests = new Set((await listOf(next.oldestKept)).map((manifest) => manifest.manifest_path));
  const doomed = new Set<string>(next.dropped);
  for (const snapshot of [...next.expired, next.oldestKept]) {
    const manifests = await listOf(snapshot);
    for (const manifest of manifests) {
      // Files this snapshot's overwrite deleted were live only in its (expired) ancestors.
      if (manifest.added_snapshot_id === snapshot['snapshot-id'] && manifest.deleted_files_count > 0) {
        for (const entry of await decodeManifest(await getFile(client, bucket, manifest.manifest_path))) {
          if (entry.status === 2 && entry.snapshot_id === snapshot['snapshot-id'])
            doomed.add(entry.data_file.file_path);
        }
      }
      if (snapshot !== next.oldestKept && !keptManifests.has(manifest.manifest_path))
        doomed.add(manifest.manifest_path);
    }
    if (snapshot !== next.oldestKept) doomed.add(snapshot['manifest-list']);
  }
  return { expiredSnapshots: next.expired.length, deletedFiles: await deleteFiles(client, bucket, [...doomed]) };
}
