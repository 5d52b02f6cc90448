import { parseArgs } from 'node:util';

/**
 * Webhook and lateness-alert commands, talking to the HTTP API. `npm run cli -- webhooks <command>` (or
 * `npm run cli:webhooks -- <command>`) runs them.
 */
export const WEBHOOK_USAGE = `Webhook commands (the API at --api-url or BATCH_EXPORTS_API_URL, key in --api-key or BATCH_EXPORTS_API_KEY):
  webhook-create --project <id> --url <url> --events <event,event,...>
      Events: run.failed, batch_export.paused, backfill.completed, backfill.failed, batch_export.late,
      batch_export.recovered. Prints the signing secret once: keep it.
  webhook-list --project <id>
  webhook-delete --project <id> --id <uuid>
  webhook-test --project <id> --id <uuid>          Queues a test event to the webhook.
  webhook-deliveries --project <id> --id <uuid>    The latest deliveries: status, attempts, last response code.
  freshness-alert --project <id> --batch-export-id <uuid> --late-after <seconds|off>
      Sends batch_export.late once the export's freshness lag is above this (and batch_export.recovered after).`;

const OPTIONS = {
  'api-url': { type: 'string' },
  'api-key': { type: 'string' },
  project: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'string' },
  id: { type: 'string' },
  'batch-export-id': { type: 'string' },
  'late-after': { type: 'string' },
} as const;

export class WebhookUsageError extends Error {}

type Values = Record<string, string | undefined>;

function required(values: Values, name: string): string {
  const value = values[name]?.trim();
  if (!value) throw new WebhookUsageError(`--${name} is required`);
  return value;
}

interface Api {
  call(method: string, path: string, body?: unknown): Promise<unknown>;
}

function apiClient(values: Values, env: NodeJS.ProcessEnv): Api {
  const base = (values['api-url'] ?? env.BATCH_EXPORTS_API_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');
  const key = values['api-key'] ?? env.BATCH_EXPORTS_API_KEY;
  if (!key) throw new WebhookUsageError('an API key is required: --api-key or BATCH_EXPORTS_API_KEY');
  return {
    async call(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : null;
      if (!response.ok) {
        const detail = (parsed as { detail?: string } | null)?.detail ?? text;
        throw new Error(`${method} ${path} answered ${response.status}: ${detail}`);
      }
      return parsed;
    },
  };
}

/** The commands, each printing what the API answered as JSON. */
export const WEBHOOK_COMMANDS: Record<string, (values: Values, api: Api) => Promise<unknown>> = {
  'webhook-create': (values, api) =>
    api.call('POST', `/api/projects/${required(values, 'project')}/webhooks`, {
      url: required(values, 'url'),
      events: required(values, 'events')
        .split(',')
        .map((event) => event.trim()),
    }),
  'webhook-list': (values, api) => api.call('GET', `/api/projects/${required(values, 'project')}/webhooks`),
  'webhook-delete': async (values, api) => {
    await api.call('DELETE', `/api/projects/${required(values, 'project')}/webhooks/${required(values, 'id')}`);
    return { deleted: values.id };
  },
  'webhook-test': (values, api) =>
    api.call('POST', `/api/projects/${required(values, 'project')}/webhooks/${required(values, 'id')}/test`),
  'webhook-deliveries': (values, api) =>
    api.call('GET', `/api/projects/${required(values, 'project')}/webhooks/${required(values, 'id')}/deliveries`),
  'freshness-alert': (values, api) => {
    const lateAfter = required(values, 'late-after');
    const seconds = lateAfter === 'off' ? null : Number(lateAfter);
    if (seconds !== null && !(Number.isInteger(seconds) && seconds > 0)) {
      throw new WebhookUsageError('--late-after must be a positive number of seconds, or off');
    }
    const path = `/api/projects/${required(values, 'project')}/batch_exports/${required(values, 'batch-export-id')}`;
    return api.call('PUT', `${path}/freshness_alert`, { late_after_seconds: seconds });
  },
};

/** Runs one webhook command; resolves with what to print. */
export async function runWebhookCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const { positionals, values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const command = WEBHOOK_COMMANDS[positionals[0] ?? ''];
  if (!command) throw new WebhookUsageError(`unknown command "${positionals[0] ?? ''}"`);
  return command(values, apiClient(values, env));
}
