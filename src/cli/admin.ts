import { Command } from 'commander';
import type { Pool } from 'pg';
import { loadApiAddress, loadDatabaseUrl } from '../config';
import { API_KEY_SCOPES, createApiKey, type ApiKeyScope } from '../db/api-keys';
import { createOrganization, createProject, getOrganization } from '../db/organizations';
import { createPool } from '../db/pool';
import { isUuidText, UsageError } from './context';

/**
 * Commands that create organizations, projects and API keys: the API has no routes for these, so they write to the
 * metadata database (DATABASE_URL) directly, on the machine that runs the service.
 */
export function adminCommands(): Command[] {
  const setup = new Command('setup')
    .description('Create an organization, a project and a read/write API key for them (the quickest start)')
    .requiredOption('--organization <name>', "the organization's name")
    .requiredOption('--project <name>', "the project's name")
    .requiredOption('--email <email>', 'who the key belongs to')
    .option('--label <text>', "the key's label", 'Created by setup')
    .option('--scopes <scopes>', 'comma-separated', 'batch_export:read,batch_export:write')
    .action((options: { organization: string; project: string; email: string; label: string; scopes: string }) =>
      withPool(async (pool) => {
        const scopes = parseScopes(options.scopes);
        const organization = await createOrganization(pool, options.organization);
        const project = await createProject(pool, organization.id, options.project);
        const { key } = await createApiKey(pool, {
          organizationId: organization.id,
          userEmail: options.email,
          label: options.label,
          scopes,
          scopedProjectIds: null,
        });
        const { host, port } = loadApiAddress();
        console.log(`Organization: ${organization.id}\nProject:      ${project.id}\nAPI key:      ${key}`);
        console.log(`\nexport KEY=${key}`);
        console.log(
          `curl -H "Authorization: Bearer $KEY" http://${host}:${port}/api/projects/${project.id}/batch_exports`,
        );
        console.log('(API keys are printed once and stored only as a hash: keep it somewhere safe)');
      }),
    );

  const createOrganizationCommand = new Command('create-organization')
    .description('Create an organization; prints its id')
    .requiredOption('--name <name>')
    .action((options: { name: string }) =>
      withPool(async (pool) => console.log((await createOrganization(pool, options.name)).id)),
    );

  const createProjectCommand = new Command('create-project')
    .description('Create a project in an organization; prints its id')
    .requiredOption('--organization-id <uuid>')
    .requiredOption('--name <name>')
    .action((options: { organizationId: string; name: string }) =>
      withPool(async (pool) => {
        const organizationId = await requireOrganization(pool, options.organizationId);
        console.log((await createProject(pool, organizationId, options.name)).id);
      }),
    );

  const createApiKeyCommand = new Command('create-api-key')
    .description('Create a personal API key; prints it once. Without --projects it reaches every project')
    .requiredOption('--organization-id <uuid>')
    .option('--email <email>', 'who the key belongs to (required)')
    .option('--label <text>', "the key's label", 'Created by the CLI')
    .option('--scopes <scopes>', 'comma-separated', 'batch_export:read,batch_export:write')
    .option('--projects <ids>', 'limit the key to these project ids: 1,2,3')
    .action((options: { organizationId: string; email?: string; label: string; scopes: string; projects?: string }) =>
      withPool(async (pool) => {
        const organizationId = await requireOrganization(pool, options.organizationId);
        if (!options.email) throw new UsageError('--email is required');
        const { key } = await createApiKey(pool, {
          organizationId,
          userEmail: options.email,
          label: options.label,
          scopes: parseScopes(options.scopes),
          scopedProjectIds: parseProjects(options.projects),
        });
        console.log(key);
      }),
    );
  return [setup, createOrganizationCommand, createProjectCommand, createApiKeyCommand];
}

async function withPool(work: (pool: Pool) => Promise<void>): Promise<void> {
  const pool = createPool(loadDatabaseUrl(), { max: 1, applicationName: 'batch-exports-cli' });
  try {
    await work(pool);
  } finally {
    await pool.end();
  }
}

async function requireOrganization(pool: Pool, id: string): Promise<string> {
  if (!isUuidText(id) || !(await getOrganization(pool, id))) throw new UsageError(`No organization ${id}`);
  return id;
}

function parseScopes(raw: string): ApiKeyScope[] {
  const scopes = raw.split(',').map((scope) => scope.trim());
  for (const scope of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
      throw new UsageError(`Unknown scope "${scope}": use ${API_KEY_SCOPES.join(', ')}`);
    }
  }
  return scopes as ApiKeyScope[];
}

function parseProjects(raw: string | undefined): number[] | null {
  if (raw === undefined) return null;
  const ids = raw.split(',').map((id) => Number(id.trim()));
  if (ids.some((id) => !Number.isInteger(id) || id <= 0)) throw new UsageError('--projects takes project ids: 1,2,3');
  return ids;
}
