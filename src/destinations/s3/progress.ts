import { ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { PlannedPart } from '../../db/run-progress';
import { abortUpload } from './multipart';

/**
 * What an export attempt has durably written, heartbeated so that a retried attempt continues from it: finished
 * files, then the unfinished file's finished parts when its format can be continued. `cursor`s are the row cursors
 * (the model's `orderBy` values, as text) of the last row written.
 */
export const S3ExportProgress = z.object({
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
export type S3ExportProgress = z.infer<typeof S3ExportProgress>;
export type ExportedFile = S3ExportProgress['files'][number];
/** Rows in the file so far, and the row cursor after them. */
export type FileMark = NonNullable<S3ExportProgress['current']>['mark'];

/** The progress a previous attempt heartbeated, or null when there is none (or it is not ours to read). */
export function parseProgress(details: unknown): S3ExportProgress | null {
  const parsed = S3ExportProgress.safeParse(details);
  return parsed.success ? parsed.data : null;
}

export function progressTotals(progress: S3ExportProgress): { records: number; bytes: number } {
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
 * then the unfinished file's parts that S3 holds with the content planned for them, from part 1 without a gap. A part
 * that was sent but whose response never arrived counts: only a part not yet stored, or stored after a gap, is
 * written again.
 */
export async function recoverProgress(
  client: S3Client,
  bucket: string,
  saved: S3ExportProgress | null,
  planned: PlannedPart[],
): Promise<S3ExportProgress> {
  const progress: S3ExportProgress = { files: saved?.files ?? [], cursor: saved?.cursor ?? null, current: null };
  const finished = new Set(progress.files.map((file) => file.key));
  const uploads = new Map<string, PlannedPart[]>();
  for (const part of planned) {
    if (!finished.has(part.key)) uploads.set(part.uploadId, [...(uploads.get(part.uploadId) ?? []), part]);
  }
  for (const [uploadId, parts] of uploads) {
    const stored = await storedParts(client, bucket, parts[0]!.key, uploadId);
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

/** The parts S3 holds for an upload, by number; none when the upload is gone (completed, aborted or expired). */
async function storedParts(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<Map<number, { etag: string; size: number }>> {
  const stored = new Map<number, { etag: string; size: number }>();
  try {
    let marker: string | undefined;
    do {
      const page = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      );
      for (const part of page.Parts ?? []) {
        stored.set(part.PartNumber ?? 0, { etag: part.ETag ?? '', size: part.Size ?? -1 });
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
  }
  return stored;
}

/**
 * True when S3 still holds the parts the heartbeat lists for the unfinished file. False when the upload is gone
 * (completed or aborted after the heartbeat was sent, or expired): the file is then written again from its start.
 */
export async function uploadStillHolds(
  client: S3Client,
  bucket: string,
  current: NonNullable<S3ExportProgress['current']>,
): Promise<boolean> {
  const stored = await storedParts(client, bucket, current.key, current.uploadId);
  return current.parts.every((part) => stored.get(part.number)?.etag === part.etag);
}

/**
 * Aborts the unfinished multipart uploads under `prefix` (an interval's key prefix), except `keep`: the uploads of
 * attempts that died before they could heartbeat them, or of a run that failed for good.
 */
export async function abortUploadsUnder(
  client: S3Client,
  bucket: string,
  prefix: string,
  keep?: string,
): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId || upload.UploadId === keep) continue;
      await abortUpload(client, bucket, upload.Key, upload.UploadId);
      aborted++;
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return aborted;
}
