import { Command, InvalidArgumentError } from 'commander';
import { readDevAccess } from '../dev/dev-access';
import { ApiClient } from './api-client';
import type { BatchExport, Page } from './resources';

/** Options every API command takes, with their environment variables; in a dev checkout they default to `npm run dev`'s. */
export interface ApiOptions {
  apiUrl?: string;
  apiKey?: string;
  project?: string;
}

/** A mistake in how the CLI was called: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function addApiOptions(command: Command): Command {
  return command
    .option('--api-url <url>', 'the API, e.g. https://exports.example.com (env BATCH_EXPORTS_API_URL)')
    .option('--api-key <key>', 'a personal API key (env BATCH_EXPORTS_API_KEY)')
    .option('--project <id>', 'the project id (env BATCH_EXPORTS_PROJECT_ID)');
}

/** The API client for a command: flags first, then the environment, then the dev checkout's .data/dev-api.json. */
export function apiClient(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const dev = readDevAccess();
  const baseUrl = options.apiUrl ?? env.BATCH_EXPORTS_API_URL ?? dev?.apiUrl;
  const key = options.apiKey ?? env.BATCH_EXPORTS_API_KEY ?? dev?.key;
  const project = options.project ?? env.BATCH_EXPORTS_PROJECT_ID ?? dev?.projectId;
  const missing = [
    !baseUrl && '--api-url (or BATCH_EXPORTS_API_URL)',
    !key && '--api-key (or BATCH_EXPORTS_API_KEY)',
    project === undefined && '--project (or BATCH_EXPORTS_PROJECT_ID)',
  ].filter(Boolean);
  if (missing.length) {
    throw new UsageError(`Missing ${missing.join(', ')}: set them, or run npm run dev in this checkout first`);
  }
  return new ApiClient({ baseUrl: baseUrl!, key: key!, projectId: positiveInteger(String(project), 'project') });
}

export function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive integer, not "${value}"`);
  return number;
}

/** For commander: an option value parsed as a positive integer. */
export function intOption(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive integer');
  return number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuidText(value: string): boolean {
  return UUID.test(value);
}

/** An export named by its id or its exact name. */
export async function resolveExport(api: ApiClient, reference: string): Promise<BatchExport> {
  if (isUuidText(reference)) return api.project<BatchExport>('GET', `/batch_exports/${reference}`);
  const matches: BatchExport[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await api.project<Page<BatchExport>>('GET', `/batch_exports?limit=1000&offset=${offset}`);
    matches.push(...page.results.filter((candidate) => candidate.name === reference));
    if (!page.next) break;
  }
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw new UsageError(`No export with the id or name "${reference}" (npm run cli -- exports list)`);
  throw new UsageError(
    `${matches.length} exports are named "${reference}": use an id (${matches.map((m) => m.id).join(', ')})`,
  );
}

const RELATIVE = /^-(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A date-time as the API takes it: ISO 8601 with a timezone, a date (YYYY-MM-DD) for day and week exports, or a time
 * relative to now: -30m, -2h, -1d, rounded down to the whole minute, hour or day (UTC) so that it falls on an
 * interval's edge.
 */
export function timeOption(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const relative = RELATIVE.exec(value);
  if (relative) {
    const unit = UNIT_MS[relative[2] as keyof typeof UNIT_MS];
    const at = Date.now() - Number(relative[1]) * unit;
    return new Date(Math.floor(at / unit) * unit).toISOString();
  }
  const parsed = new Date(value);
  if (!/\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(parsed.getTime())) {
    throw new InvalidArgumentError(`"${value}" is not a time: use 2026-11-30T10:00:00Z, a date, or -30m / -2h / -1d`);
  }
  return parsed.toISOString();
}
