import { z } from 'zod';
import type { PlannedPart } from '../../db/run-progress';
import type { ObjectStore } from './store';

/**
 * What an export attempt has durably written, heartbeated and saved so that a retried attempt continues from it:
 * finished files, then the unfinished file's finished parts when its format can be continued. `cursor`s are the row
 * cursors (the model's `orderBy` values, as text) of the last row written.
 */
export const ObjectExportProgress = z.object({
  files: z.array(
    z.object({
      key: z.string(),
      records: z.number().int(),
      bytes: z.number().int(),
      /** Hex SHA-256 of the file (the receipt's); absent from heartbeats of older versions. */
      sha256: z.string().optional(),
    }),
  ),
  /** After the last finished file; null before the first. */
  cursor: z.array(z.string()).nullable(),
  current: z
    .object({
      key: z.string(),
      uploadId: z.string(),
      parts: z.array(z.object({ number: z.number().int(), etag: z.string(), size: z.number().int() })).min(1),
      mark: z.object({ records: z.number().int(), cursor: z.array(z.string()) }),
    })
    .nullable(),
});
export type ObjectExportProgress = z.infer<typeof ObjectExportProgress>;
export type ExportedFile = ObjectExportProgress['files'][number];
/** Rows in the file so far, and the row cursor after them. */
export type FileMark = NonNullable<ObjectExportProgress['current']>['mark'];

/** The progress a previous attempt heartbeated, or null when there is none (or it is not ours to read). */
export function parseProgress(details: unknown): ObjectExportProgress | null {
  const parsed = ObjectExportProgress.safeParse(details);
  return parsed.success ? parsed.data : null;
}

export function progressTotals(progress: ObjectExportProgress): { records: number; bytes: number } {
  let records = progress.current?.mark.records ?? 0;
  let bytes = progress.current?.parts.reduce((sum, part) => sum + part.size, 0) ?? 0;
  for (const file of progress.files) {
    records += file.records;
    bytes += file.bytes;
  }
  return { records, bytes };
}

/**
 * Where a retried attempt continues, from what earlier attempts saved as they wrote: the finished files (`saved`),
 * then the unfinished file's parts that the store holds with the content planned for them, from part 1 without a
 * gap. A part that was sent but whose response never arrived counts: only a part not yet stored, or stored after a
 * gap, is written again.
 */
export async function recoverStoredProgress(
  store: ObjectStore,
  saved: ObjectExportProgress | null,
  planned: PlannedPart[],
): Promise<ObjectExportProgress> {
  const progress: ObjectExportProgress = { files: saved?.files ?? [], cursor: saved?.cursor ?? null, current: null };
  const finished = new Set(progress.files.map((file) => file.key));
  const uploads = new Map<string, PlannedPart[]>();
  for (const part of planned) {
    if (!finished.has(part.key)) uploads.set(part.uploadId, [...(uploads.get(part.uploadId) ?? []), part]);
  }
  for (const [uploadId, parts] of uploads) {
    const stored = await store.storedParts({ key: parts[0]!.key, uploadId });
    const held: PlannedPart[] = [];
    for (const part of parts) {
      const found = stored.get(part.number);
      const same = found?.size === part.size && (found.etag === `"${part.md5}"` || found.etag === part.etag);
      if (part.number !== held.length + 1 || !same) break;
      held.push({ ...part, etag: found.etag });
    }
    const last = held.at(-1);
    if (last && held.length > (progress.current?.parts.length ?? 0)) {
      progress.current = {
        key: last.key,
        uploadId,
        parts: held.map((part) => ({ number: part.number, etag: part.etag!, size: part.size })),
        mark: { records: last.records, cursor: last.cursor },
      };
    }
  }
  return progress;
}

/**
 * True when the store still holds the parts the heartbeat lists for the unfinished file. False when the upload is
 * gone (completed or aborted after the heartbeat was sent, or expired): the file is then written again from its start.
 */
export async function storeStillHolds(
  store: ObjectStore,
  current: NonNullable<ObjectExportProgress['current']>,
): Promise<boolean> {
  const stored = await store.storedParts({ key: current.key, uploadId: current.uploadId });
  return current.parts.every((part) => stored.get(part.number)?.etag === part.etag);
}

/**
 * Aborts the unfinished uploads under `prefix` (an interval's key prefix), except `keep`: the uploads of attempts
 * that died before they could record them, or of a run that failed for good.
 */
export async function abortStoredUploadsUnder(store: ObjectStore, prefix: string, keep?: string): Promise<number> {
  let aborted = 0;
  for await (const upload of store.unfinishedUploads(prefix)) {
    if (upload.uploadId === keep) continue;
    await store.abortUpload(upload);
    aborted++;
  }
  return aborted;
}
