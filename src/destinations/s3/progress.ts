import { ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
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
 * True when S3 still holds the parts the heartbeat lists for the unfinished file. False when the upload is gone
 * (completed or aborted after the heartbeat was sent, or expired): the file is then written again from its start.
 */
export async function uploadStillHolds(
  client: S3Client,
  bucket: string,
  current: NonNullable<S3ExportProgress['current']>,
): Promise<boolean> {
  try {
    const stored = new Map<number, string | undefined>();
    let marker: string | undefined;
    do {
      const page = await client.send(
        new ListPartsCommand({
          Bucket: bucket,
          Key: current.key,
          UploadId: current.uploadId,
          PartNumberMarker: marker,
        }),
      );
      for (const part of page.Parts ?? []) stored.set(part.PartNumber ?? 0, part.ETag);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return current.parts.every((part) => stored.get(part.number) === part.etag);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchUpload') return false;
    throw error;
  }
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
