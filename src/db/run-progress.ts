import type { Queryable } from './batch-exports';

/**
 * Durable progress of a run's insert activity: what its attempts have written, saved as they write it, so that a
 * retry after a crash continues from there (see migration 075). Cleared when the run no longer needs it.
 */

/** The destination's progress document for the run, or null when no attempt has saved one. */
export async function loadRunProgress(db: Queryable, runId: string): Promise<unknown> {
  const { rows } = await db.query<{ progress: unknown }>(
    'SELECT progress FROM batch_export_run_progress WHERE run_id = $1',
    [runId],
  );
  return rows[0]?.progress ?? null;
}

/** Saves the run's progress document ($1: the run, $2: the document). */
const SAVE_PROGRESS = `INSERT INTO batch_export_run_progress (run_id, progress) VALUES ($1, $2::jsonb)
  ON CONFLICT (run_id) DO UPDATE SET progress = EXCLUDED.progress, updated_at = now()`;

export async function saveRunProgress(db: Queryable, runId: string, progress: unknown): Promise<void> {
  await db.query(SAVE_PROGRESS, [runId, JSON.stringify(progress)]);
}

/**
 * Saves the progress of an object export once a file is complete, and forgets the parts planned for it (they
 * describe a finished upload), in one statement.
 */
export async function saveFileFinished(db: Queryable, runId: string, progress: unknown): Promise<void> {
  await db.query(`WITH parts AS (DELETE FROM batch_export_s3_parts WHERE run_id = $1) ${SAVE_PROGRESS}`, [
    runId,
    JSON.stringify(progress),
  ]);
}

/** Forgets everything saved for the run: after it succeeded, failed for good, or when a fresh attempt starts over. */
export async function clearRunProgress(db: Queryable, runId: string): Promise<void> {
  await db.query(
    `WITH parts AS (DELETE FROM batch_export_s3_parts WHERE run_id = $1)
     DELETE FROM batch_export_run_progress WHERE run_id = $1`,
    [runId],
  );
}

/** A part of an unfinished S3 upload, as recorded before it was sent. */
export interface PlannedPart {
  uploadId: string;
  key: string;
  number: number;
  size: number;
  md5: string;
  etag: string | null;
  /** Rows in the file after this part, and the row cursor of its last row. */
  records: number;
  cursor: string[];
}

/** Records a part about to be sent, replacing what an earlier attempt planned under its number. */
export async function planPart(db: Queryable, runId: string, part: Omit<PlannedPart, 'etag'>): Promise<void> {
  await db.query(
    `INSERT INTO batch_export_s3_parts (run_id, upload_id, object_key, part_number, size, md5, records, cursor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[])
     ON CONFLICT (run_id, upload_id, part_number) DO UPDATE
     SET object_key = EXCLUDED.object_key, size = EXCLUDED.size, md5 = EXCLUDED.md5, etag = NULL,
         records = EXCLUDED.records, cursor = EXCLUDED.cursor`,
    [runId, part.uploadId, part.key, part.number, part.size, part.md5, part.records, part.cursor],
  );
}

/** Records the ETag S3 gave a planned part. */
export async function partStored(
  db: Queryable,
  runId: string,
  part: { uploadId: string; number: number; etag: string },
): Promise<void> {
  await db.query(
    `UPDATE batch_export_s3_parts SET etag = $4 WHERE run_id = $1 AND upload_id = $2 AND part_number = $3`,
    [runId, part.uploadId, part.number, part.etag],
  );
}

/** The run's planned parts, by upload then part number. */
export async function plannedParts(db: Queryable, runId: string): Promise<PlannedPart[]> {
  const { rows } = await db.query<PlannedPart>(
    `SELECT upload_id AS "uploadId", object_key AS key, part_number AS number, size::float8 AS size, md5, etag,
            records::float8 AS records, cursor
     FROM batch_export_s3_parts WHERE run_id = $1 ORDER BY upload_id, part_number`,
    [runId],
  );
  return rows;
}

/**
 * Keeps only the first `keep` parts of the run's upload `uploadId` and forgets every other upload's: what a resumed
 * attempt continues from. Parts planned past them described rows the next attempt will cut into parts anew.
 */
export async function keepPlannedParts(
  db: Queryable,
  runId: string,
  uploadId: string | null,
  keep: number,
): Promise<void> {
  await db.query(
    `DELETE FROM batch_export_s3_parts
     WHERE run_id = $1 AND (upload_id IS DISTINCT FROM $2 OR part_number > $3)`,
    [runId, uploadId, keep],
  );
}
