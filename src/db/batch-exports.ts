import type { Pool, PoolClient } from 'pg';
import { decryptJson } from '../crypto';

/** A pool or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

export interface BatchExportRecord {
  id: string;
  team_id: number;
  name: string;
  model: 'events' | 'persons' | 'sessions';
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
