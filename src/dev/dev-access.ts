import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { createApiKey } from '../db/api-keys';
import { createOrganization, createProject } from '../db/organizations';

/** Where `npm run dev` keeps its state: the encryption key, the API key, the Temporal database. */
export const DATA_DIR = path.resolve(__dirname, '../../.data');

/** The dev API key alone, so that `export KEY=$(cat .data/dev-api-key)` works. */
const KEY_FILE = 'dev-api-key';
/** The key, its project and the API's address: what the CLI uses by default in a dev checkout. */
const ACCESS_FILE = 'dev-api.json';

export interface DevAccess {
  key: string;
  projectId: number;
  apiUrl: string;
}

/** The dev access of this checkout, or undefined when `npm run dev` has not run here. */
export function readDevAccess(dataDir = DATA_DIR): DevAccess | undefined {
  const file = path.join(dataDir, ACCESS_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as DevAccess;
}

/**
 * An organization, project and key for local use, made on the first run and kept in .data/ (0600); the API's
 * address is updated on every run. Never for production.
 */
export async function ensureDevAccess(pool: Pool, apiUrl: string, dataDir = DATA_DIR): Promise<DevAccess> {
  const saved = readDevAccess(dataDir) ?? (await readOldKeyFile(dataDir));
  let access: DevAccess;
  if (saved && (await pool.query('SELECT 1 FROM projects WHERE id = $1', [saved.projectId])).rowCount) {
    access = { ...saved, apiUrl };
  } else {
    const organization = await createOrganization(pool, 'Local development');
    const project = await createProject(pool, organization.id, 'Local development');
    const { key } = await createApiKey(pool, {
      organizationId: organization.id,
      userEmail: 'dev@localhost',
      label: 'npm run dev',
      scopes: ['batch_export:read', 'batch_export:write'],
      scopedProjectIds: null,
    });
    access = { key, projectId: project.id, apiUrl };
  }
  await writeFile(path.join(dataDir, KEY_FILE), `${access.key}\n`, { mode: 0o600 });
  await writeFile(path.join(dataDir, ACCESS_FILE), `${JSON.stringify(access, null, 2)}\n`, { mode: 0o600 });
  return access;
}

/** Checkouts from before dev-api.json kept {key, projectId} as JSON in dev-api-key. */
async function readOldKeyFile(dataDir: string): Promise<Omit<DevAccess, 'apiUrl'> | undefined> {
  const file = path.join(dataDir, KEY_FILE);
  if (!existsSync(file)) return undefined;
  const text = (await readFile(file, 'utf8')).trim();
  if (!text.startsWith('{')) return undefined;
  return JSON.parse(text) as Omit<DevAccess, 'apiUrl'>;
}
