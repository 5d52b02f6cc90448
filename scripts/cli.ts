import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { loadConfig, loadDatabaseUrl } from '../src/config';
import { getBatchExport } from '../src/db/batch-exports';
import { API_KEY_SCOPES, createApiKey, type ApiKeyScope } from '../src/db/api-keys';
import { listWorkflowRunsPage, type BackfillWorkflowRunRecord } from '../src/db/backfill-workflow-runs';
import { getBackfill } from '../src/db/backfills';
import type { KeysetPosition } from '../src/db/keyset';
import { createOrganization, createProject, getOrganization } from '../src/db/organizations';
import { createPool } from '../src/db/pool';
import { createBackfill } from '../src/service/backfills';
import { connectClient } from '../src/temporal/connection';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  setup --organization <name> --project <name> --email <email>
      Creates an organization, a project and a read/write API key for them (the quickest start).
  create-organization --name <name>
  create-project --organization-id <uuid> --name <name>
  create-api-key --organization-id <uuid> --email <email> [--label <text>]
                 [--scopes batch_export:read,batch_export:write] [--projects <id,id,...>]
      Without --projects the key reaches every project of the organization.
  backfill --id <uuid>
      A backfill's status and progress, and each of its Temporal workflow runs (it continues as new every
      BACKFILL_INTERVALS_PER_WORKFLOW_RUN intervals): intervals taken on, runs completed / failed / skipped.
  backfill --batch-export-id <uuid> --end-at <time> [--start-at <time>] [--skip-exported]
      Exports the export's intervals in the range again, replacing what the destination holds for them;
      --skip-exported leaves intervals an earlier run completed alone. Times as the API takes them.

API keys are printed once and stored only as a hash: keep them somewhere safe.`;

const OPTIONS = {
  name: { type: 'string' },
  organization: { type: 'string' },
  project: { type: 'string' },
  'organization-id': { type: 'string' },
  email: { type: 'string' },
  label: { type: 'string' },
  scopes: { type: 'string' },
  projects: { type: 'string' },
  id: { type: 'string' },
  'batch-export-id': { type: 'string' },
  'start-at': { type: 'string' },
  'end-at': { type: 'string' },
  'skip-exported': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value.trim();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The organization named by --organization-id; a usage error if it is not one. */
async function requireOrganization(pool: Pool, values: Record<string, unknown>): Promise<string> {
  const id = required(values, 'organization-id');
  if (!UUID.test(id) || !(await getOrganization(pool, id))) throw new UsageError(`No organization ${id}`);
  return id;
}

function parseScopes(raw: string | undefined): ApiKeyScope[] {
  const scopes = (raw ?? 'batch_export:read,batch_export:write').split(',').map((scope) => scope.trim());
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

/** What `backfill --id` prints: the backfill, then a table of its workflow runs, oldest first. */
async function showBackfill(pool: Pool, values: Record<string, unknown>): Promise<string> {
  const id = required(values, 'id');
  const backfill = UUID.test(id) ? await getBackfill(pool, id) : null;
  if (!backfill) throw new UsageError(`No backfill ${id}`);
  const runs: BackfillWorkflowRunRecord[] = [];
  let position: KeysetPosition | undefined;
  for (;;) {
    const page = await listWorkflowRunsPage(pool, {
      backfillId: backfill.id,
      ordering: 'started_at',
      direction: 'next',
      position,
      limit: 500,
    });
    runs.push(...page.rows);
    const last = page.rows.at(-1);
    if (!page.more || !last) break;
    position = { value: last.cursor_value, id: last.id };
  }
  const time = (date: Date | null) => date?.toISOString() ?? '-';
  const table = [
    ['workflow run id', 'status', 'started at', 'finished at', 'intervals', 'completed', 'failed', 'skipped'],
    ...runs.map((run) => [
      run.workflow_run_id,
      run.status,
      time(run.started_at),
      time(run.finished_at),
      `${time(run.data_interval_start)} to ${time(run.data_interval_end)}`,
      String(run.runs_completed),
      String(run.runs_failed),
      String(run.runs_skipped),
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  return [
    `Backfill:      ${backfill.id} (export ${backfill.batch_export_id})`,
    `Status:        ${backfill.status}${backfill.latest_error ? `: ${backfill.latest_error}` : ''}`,
    `Range:         ${time(backfill.start_at)} to ${time(backfill.end_at)}`,
    `Progress:      ${backfill.finished_runs} of ${backfill.total_runs ?? '?'} intervals finished`,
    `Workflow id:   ${backfill.workflow_id ?? '-'} (${backfill.workflow_runs_count} workflow runs)`,
    '',
    ...table.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}

/** Starts a backfill as POST .../backfills does, and prints its id. */
async function backfill(pool: Pool, values: Record<string, unknown>): Promise<void> {
  const id = required(values, 'batch-export-id');
  const batchExport = UUID.test(id) ? await getBatchExport(pool, id) : null;
  if (!batchExport) throw new UsageError(`No batch export ${id}`);
  const config = loadConfig();
  const temporal = await connectClient(config.temporal);
  try {
    const body = {
      start_at: values['start-at'] ?? null,
      end_at: required(values, 'end-at'),
      skip_exported: values['skip-exported'] === true,
    };
    const created = await createBackfill(
      { pool, temporal, config },
      { teamId: batchExport.team_id, batchExportId: id, body },
    );
    console.log(created.id);
  } finally {
    await temporal.connection.close();
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ options: OPTIONS, allowPositionals: true });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const pool = createPool(loadDatabaseUrl(), { max: 1, applicationName: 'batch-exports-cli' });
  try {
    switch (command) {
      case 'setup': {
        const organization = await createOrganization(pool, required(values, 'organization'));
        const project = await createProject(pool, organization.id, required(values, 'project'));
        const { key } = await createApiKey(pool, {
          organizationId: organization.id,
          userEmail: required(values, 'email'),
          label: values.label ?? 'Created by setup',
          scopes: parseScopes(values.scopes),
          scopedProjectIds: null,
        });
        console.log(`Organization: ${organization.id}\nProject:      ${project.id}\nAPI key:      ${key}`);
        console.log(
          `\nTry: curl -H "Authorization: Bearer ${key}" http://127.0.0.1:8000/api/projects/${project.id}/batch_exports`,
        );
        console.log('(the API listens on API_HOST:API_PORT, 127.0.0.1:8000 by default)');
        break;
      }
      case 'create-organization': {
        const organization = await createOrganization(pool, required(values, 'name'));
        console.log(organization.id);
        break;
      }
      case 'create-project': {
        const organizationId = await requireOrganization(pool, values);
        const project = await createProject(pool, organizationId, required(values, 'name'));
        console.log(project.id);
        break;
      }
      case 'create-api-key': {
        const organizationId = await requireOrganization(pool, values);
        const { key } = await createApiKey(pool, {
          organizationId,
          userEmail: required(values, 'email'),
          label: values.label ?? 'Created by the CLI',
          scopes: parseScopes(values.scopes),
          scopedProjectIds: parseProjects(values.projects),
        });
        console.log(key);
        break;
      }
      case 'backfill':
        if (values.id !== undefined) console.log(await showBackfill(pool, values));
        else await backfill(pool, values);
        break;
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  if (error instanceof UsageError) console.error(`\n${USAGE}`);
  process.exit(1);
});
