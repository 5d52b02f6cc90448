import type { Pool, PoolClient } from 'pg';
import { decryptJson } from '../crypto';
import type { ModelName } from '../models/registry';

/** A pool or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

export interface BatchExportRecord {
  id: string;
  team_id: number;
  name: string;
  model: ModelName;
  interval: string;
  paused: boolean;
  last_paused_at: Date | null;
  paused_by: string | null;
  start_at: Date | null;
  end_at: Date | null;
  hogql_query: string | null;
  filters: unknown;
  timezone: string;
  offset_day: number | null;
  offset_hour: number | null;
  created_at: Date;
  last_updated_at: Date;
  deleted: boolean;
  destination: {
    id: string;
    type: string;
    /** Non-secret fields only. */
    config: Record<string, unknown>;
  };
}

export interface NewBatchExport {
  teamId: number;
  name: string;
  model: BatchExportRecord['model'];
  interval: string;
  paused: boolean;
  startAt: Date | null;
  endAt: Date | null;
  hogqlQuery: string | null;
  filters: unknown;
  timezone: string;
  offsetDay: number | null;
  offsetHour: number | null;
  destination: { type: string; config: Record<string, unknown>; encryptedSecrets: string | null };
}

const SELECT_EXPORT = `
  SELECT be.id, be.team_id, be.name, be.model, be.interval, be.paused, be.last_paused_at, be.paused_by,
         be.start_at, be.end_at, be.hogql_query, be.filters, be.timezone, be.offset_day, be.offset_hour,
         be.created_at, be.last_updated_at, be.deleted,
         json_build_object('id', d.id, 'type', d.type, 'config', d.config) AS destination
  FROM batch_exports be
  JOIN batch_export_destinations d ON d.id = be.destination_id`;

export async function insertBatchExport(db: Queryable, input: NewBatchExport): Promise<BatchExportRecord> {
  const {
    rows: [destination],
  } = await db.query<{ id: string }>(
    `INSERT INTO batch_export_destinations (type, config, encrypted_secrets) VALUES ($1, $2::jsonb, $3) RETURNING id`,
    [input.destination.type, JSON.stringify(input.destination.config), input.destination.encryptedSecrets],
  );
  const {
    rows: [created],
  } = await db.query<{ id: string }>(
    `INSERT INTO batch_exports (team_id, name, model, destination_id, interval, paused, last_paused_at, start_at,
                                end_at, hogql_query, filters, timezone, offset_day, offset_hour)
     VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 THEN now() END, $7, $8, $9, $10::jsonb, $11, $12, $13)
     RETURNING id`,
    [
      input.teamId,
      input.name,
      input.model,
      destination!.id,
      input.interval,
      input.paused,
      input.startAt,
      input.endAt,
      input.hogqlQuery,
      input.filters === undefined || input.filters === null ? null : JSON.stringify(input.filters),
      input.timezone,
      input.offsetDay,
      input.offsetHour,
    ],
  );
  return (await getBatchExport(db, created!.id))!;
}

/** An export that is not deleted, or null. With `teamId`, only that team's. */
export async function getBatchExport(db: Queryable, id: string, teamId?: number): Promise<BatchExportRecord | null> {
  const { rows } = await db.query<BatchExportRecord>(
    `${SELECT_EXPORT} WHERE be.id = $1 AND NOT be.deleted AND ($2::bigint IS NULL OR be.team_id = $2)`,
    [id, teamId ?? null],
  );
  return rows[0] ?? null;
}

/** The destination's whole config, secrets decrypted: for activities only, never for responses or logs. */
export async function getDestinationConfigWithSecrets(
  db: Queryable,
  encryptionKey: Buffer,
  batchExportId: string,
): Promise<{ type: string; config: Record<string, unknown> } | null> {
  const { rows } = await db.query<{ type: string; config: Record<string, unknown>; encrypted_secrets: string | null }>(
    `SELECT d.type, d.config, d.encrypted_secrets
     FROM batch_exports be JOIN batch_export_destinations d ON d.id = be.destination_id
     WHERE be.id = $1`,
    [batchExportId],
  );
  const row = rows[0];
  if (!row) return null;
  const secrets = row.encrypted_secrets ? (decryptJson(encryptionKey, row.encrypted_secrets) as object) : {};
  return { type: row.type, config: { ...row.config, ...secrets } };
}

/** A page of the exports of some teams, newest first, and how many there are in all. */
export async function listBatchExports(
  db: Queryable,
  teamIds: number[],
  page: { limit: number; offset: number },
): Promise<{ count: number; results: BatchExportRecord[] }> {
  const [{ rows: results }, { rows: counts }] = await Promise.all([
    db.query<BatchExportRecord>(
      `${SELECT_EXPORT} WHERE be.team_id = ANY($1::bigint[]) AND NOT be.deleted
       ORDER BY be.created_at DESC, be.id DESC LIMIT $2 OFFSET $3`,
      [teamIds, page.limit, page.offset],
    ),
    db.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM batch_exports WHERE team_id = ANY($1::bigint[]) AND NOT deleted',
      [teamIds],
    ),
  ]);
  return { count: counts[0]!.count, results };
}

/**
 * An export of one of `teamIds` that is not deleted, or null. `lock` holds its row until the transaction ends, so
 * that concurrent changes to one export (and its schedule) happen one after the other.
 */
export async function findBatchExport(
  db: Queryable,
  id: string,
  teamIds: number[],
  options: { lock?: boolean } = {},
): Promise<BatchExportRecord | null> {
  const { rows } = await db.query<BatchExportRecord>(
    `${SELECT_EXPORT} WHERE be.id = $1::uuid AND be.team_id = ANY($2::bigint[]) AND NOT be.deleted
     ${options.lock ? 'FOR UPDATE OF be, d' : ''}`,
    [id, teamIds],
  );
  return rows[0] ?? null;
}

export type BatchExportChanges = Omit<NewBatchExport, 'teamId' | 'paused'>;

/** Replaces an export's settings and its destination's config and secrets. */
export async function updateBatchExport(db: Queryable, id: string, changes: BatchExportChanges): Promise<void> {
  await db.query(
    `UPDATE batch_exports
     SET name = $2, model = $3, interval = $4, start_at = $5, end_at = $6, hogql_query = $7, filters = $8::jsonb,
         timezone = $9, offset_day = $10, offset_hour = $11, last_updated_at = now()
     WHERE id = $1`,
    [
      id,
      changes.name,
      changes.model,
      changes.interval,
      changes.startAt,
      changes.endAt,
      changes.hogqlQuery,
      changes.filters === undefined || changes.filters === null ? null : JSON.stringify(changes.filters),
      changes.timezone,
      changes.offsetDay,
      changes.offsetHour,
    ],
  );
  await db.query(
    `UPDATE batch_export_destinations d
     SET config = $2::jsonb, encrypted_secrets = $3, last_updated_at = now()
     FROM batch_exports be WHERE be.id = $1 AND d.id = be.destination_id`,
    [id, JSON.stringify(changes.destination.config), changes.destination.encryptedSecrets],
  );
}

/** Pauses (recording who and when) or unpauses an export. */
export async function setBatchExportPaused(
  db: Queryable,
  id: string,
  state: { paused: true; pausedBy: string } | { paused: false },
): Promise<void> {
  await db.query(
    `UPDATE batch_exports
     SET paused = $2,
         last_paused_at = CASE WHEN $2 THEN now() ELSE last_paused_at END,
         paused_by = CASE WHEN $2 THEN $3 ELSE paused_by END,
         last_updated_at = now()
     WHERE id = $1`,
    [id, state.paused, state.paused ? state.pausedBy : null],
  );
}

/** Soft delete: the row stays (runs and logs refer to it) but the export is gone for the API and the workflows. */
export async function markBatchExportDeleted(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE batch_exports SET deleted = true, paused = true, last_updated_at = now() WHERE id = $1', [id]);
}
