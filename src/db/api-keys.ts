import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../crypto';
import type { Queryable } from './batch-exports';

export const API_KEY_SCOPES = ['batch_export:read', 'batch_export:write', '*'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  organization_id: string;
  user_email: string;
  label: string;
  mask_value: string;
  scopes: ApiKeyScope[];
  /** null: every project of the organization. */
  scoped_project_ids: number[] | null;
  created_at: Date;
  last_used_at: Date | null;
}

export interface NewApiKey {
  organizationId: string;
  userEmail: string;
  label: string;
  scopes: ApiKeyScope[];
  scopedProjectIds: number[] | null;
}

const KEY_PREFIX = 'pak_';

/** Creates a key and returns it in clear text, the only time it exists outside the caller's hands. */
export async function createApiKey(db: Queryable, input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<ApiKeyRecord>(
    `INSERT INTO personal_api_keys (organization_id, user_email, label, secure_value, mask_value, scopes,
                                    scoped_project_ids)
     VALUES ($1::uuid, $2, $3, $4, $5, $6::text[], $7::bigint[])
     RETURNING id, organization_id, user_email, label, mask_value, scopes, scoped_project_ids, created_at, last_used_at`,
    [
      input.organizationId,
      input.userEmail,
      input.label,
      sha256Hex(key),
      `${KEY_PREFIX}...${key.slice(-4)}`,
      input.scopes,
      input.scopedProjectIds,
    ],
  );
  const record = rows[0]!;
  record.scoped_project_ids = record.scoped_project_ids?.map(Number) ?? null;
  return { key, record };
}

/** The key whose clear text is `key`, or null. Marks it used (at most once a minute, to spare writes). */
export async function findApiKey(db: Queryable, key: string): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query<ApiKeyRecord>(
    `SELECT id, organization_id, user_email, label, mask_value, scopes, scoped_project_ids, created_at, last_used_at
     FROM personal_api_keys WHERE secure_value = $1`,
    [sha256Hex(key)],
  );
  const record = rows[0];
  if (!record) return null;
  // bigint[] arrives as strings (only scalar bigint has a parser, see pool.ts).
  record.scoped_project_ids = record.scoped_project_ids?.map(Number) ?? null;
  await db.query(
    `UPDATE personal_api_keys SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [record.id],
  );
  return record;
}
