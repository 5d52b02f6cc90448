import type { Queryable } from './batch-exports';

export interface OrganizationRecord {
  id: string;
  name: string;
  created_at: Date;
}

export interface ProjectRecord {
  id: number;
  organization_id: string;
  name: string;
  created_at: Date;
}

export async function createOrganization(db: Queryable, name: string): Promise<OrganizationRecord> {
  const { rows } = await db.query<OrganizationRecord>(
    'INSERT INTO organizations (name) VALUES ($1) RETURNING id, name, created_at',
    [name],
  );
  return rows[0]!;
}

export async function createProject(db: Queryable, organizationId: string, name: string): Promise<ProjectRecord> {
  const { rows } = await db.query<ProjectRecord>(
    `INSERT INTO projects (organization_id, name) VALUES ($1::uuid, $2)
     RETURNING id, organization_id, name, created_at`,
    [organizationId, name],
  );
  return rows[0]!;
}

export async function getOrganization(db: Queryable, id: string): Promise<OrganizationRecord | null> {
  const { rows } = await db.query<OrganizationRecord>(
    'SELECT id, name, created_at FROM organizations WHERE id = $1::uuid',
    [id],
  );
  return rows[0] ?? null;
}

export async function getProject(db: Queryable, id: number): Promise<ProjectRecord | null> {
  const { rows } = await db.query<ProjectRecord>(
    'SELECT id, organization_id, name, created_at FROM projects WHERE id = $1::bigint',
    [id],
  );
  return rows[0] ?? null;
}

/** The ids of an organization's projects, oldest first. */
export async function listProjectIds(db: Queryable, organizationId: string): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    'SELECT id FROM projects WHERE organization_id = $1::uuid ORDER BY id',
    [organizationId],
  );
  return rows.map((row) => row.id);
}

/** An organization's projects, oldest first. */
export async function listProjects(db: Queryable, organizationId: string): Promise<ProjectRecord[]> {
  const { rows } = await db.query<ProjectRecord>(
    'SELECT id, organization_id, name, created_at FROM projects WHERE organization_id = $1::uuid ORDER BY id',
    [organizationId],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}
