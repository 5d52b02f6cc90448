import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { addApiOptions, apiClient, resolveExport, UsageError, type ApiOptions } from './context';
import { bytes, table, time } from './format';
import type { BatchExport, Page } from './resources';

/** `exports list | create | show | pause | unpause | delete`. */
export function exportsCommand(): Command {
  const exports = new Command('exports').description('List, create, show, pause, unpause and delete exports');

  addApiOptions(exports.command('list').description("The project's exports as a table")).action(
    async (options: ApiOptions) => {
      const api = apiClient(options);
      const page = await api.project<Page<BatchExport>>('GET', '/batch_exports?limit=1000');
      console.log(
        table(
          ['id', 'name', 'model', 'interval', 'destination', 'paused'],
          page.results.map((e) => [e.id, e.name, e.model, e.interval, destinationSummary(e), e.paused ? 'yes' : 'no']),
        ),
      );
    },
  );

  addApiOptions(
    exports
      .command('create')
      .description("Create an export from a JSON file (the API's body) or from flags for an S3 destination")
      .option('--file <path>', 'a JSON file with the whole request body (name, model, interval, destination, ...)')
      .option('--name <name>', "the export's name")
      .option('--model <model>', 'events, persons or sessions', 'events')
      .option('--interval <interval>', 'hour, day, week or "every N minutes"', 'hour')
      .option('--destination <json>', 'the destination as JSON: {"type": "S3", "config": {...}}')
      .option('--bucket <name>', 'S3: the bucket')
      .option('--region <region>', "S3: the bucket's region", 'us-east-1')
      .option('--prefix <prefix>', 'S3: key prefix, may use {year} {month} {day} {hour} {table} ...', '')
      .option('--endpoint-url <url>', 'S3: another S3 service (MinIO, R2, ...)')
      .option('--file-format <format>', 'S3: JSONLines or Parquet', 'JSONLines')
      .option('--compression <codec>', 'S3: gzip, brotli, zstd, ... (none when unset)')
      .addHelpText(
        'after',
        '\nS3 keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Example:\n' +
          '  npm run cli -- exports create --name "events to s3" --interval hour --bucket my-bucket --region eu-west-1',
      ),
  ).action(async (options: CreateOptions) => {
    const api = apiClient(options);
    const body = options.file ? JSON.parse(await readFile(options.file, 'utf8')) : bodyFromFlags(options);
    const created = await api.project<BatchExport>('POST', '/batch_exports', body);
    console.log(`Created export ${created.id} (${created.name})`);
  });

  addApiOptions(
    exports.command('show').description('An export, with its latest runs').argument('<export>', 'id or name'),
  ).action(async (reference: string, options: ApiOptions) => {
    const found = await resolveExport(apiClient(options), reference);
    console.log(
      [
        `Export:       ${found.id} (${found.name})`,
        `Model:        ${found.model ?? 'events'}, every ${found.interval}`,
        `Destination:  ${destinationSummary(found)}`,
        `Paused:       ${found.paused ? 'yes' : 'no'}`,
        `Created:      ${time(found.created_at)}`,
        '',
        'Config (secrets are write-only and not shown):',
        JSON.stringify(found.destination.config, null, 2),
        '',
        'Latest runs:',
        table(
          ['interval start', 'interval end', 'status', 'rows', 'bytes'],
          (found.latest_runs ?? []).map((run) => [
            time(run.data_interval_start),
            time(run.data_interval_end),
            run.status,
            run.records_completed,
            bytes(run.bytes_exported),
          ]),
        ),
      ].join('\n'),
    );
  });

  for (const action of ['pause', 'unpause'] as const) {
    addApiOptions(exports.command(action).description(`${action === 'pause' ? 'Pause' : 'Unpause'} an export`))
      .argument('<export>', 'id or name')
      .action(async (reference: string, options: ApiOptions) => {
        const api = apiClient(options);
        const found = await resolveExport(api, reference);
        await api.project('POST', `/batch_exports/${found.id}/${action}`);
        console.log(`${action === 'pause' ? 'Paused' : 'Unpaused'} export ${found.id} (${found.name})`);
      });
  }

  addApiOptions(exports.command('delete').description('Delete an export and its schedule'))
    .argument('<export>', 'id or name')
    .action(async (reference: string, options: ApiOptions) => {
      const api = apiClient(options);
      const found = await resolveExport(api, reference);
      await api.project('DELETE', `/batch_exports/${found.id}`);
      console.log(`Deleted export ${found.id} (${found.name})`);
    });
  return exports;
}

interface CreateOptions extends ApiOptions {
  file?: string;
  name?: string;
  model: string;
  interval: string;
  destination?: string;
  bucket?: string;
  region: string;
  prefix: string;
  endpointUrl?: string;
  fileFormat: string;
  compression?: string;
}

function bodyFromFlags(options: CreateOptions): Record<string, unknown> {
  if (!options.name) throw new UsageError('--name is required (or --file)');
  let destination: unknown;
  if (options.destination) {
    destination = JSON.parse(options.destination);
  } else if (options.bucket) {
    destination = {
      type: 'S3',
      config: {
        bucket_name: options.bucket,
        region: options.region,
        prefix: options.prefix,
        file_format: options.fileFormat,
        ...(options.compression ? { compression: options.compression } : {}),
        ...(options.endpointUrl ? { endpoint_url: options.endpointUrl } : {}),
        aws_access_key_id: process.env.AWS_ACCESS_KEY_ID,
        aws_secret_access_key: process.env.AWS_SECRET_ACCESS_KEY,
      },
    };
  } else {
    throw new UsageError('--bucket or --destination is required (or --file)');
  }
  return { name: options.name, model: options.model, interval: options.interval, destination };
}

function destinationSummary(found: BatchExport): string {
  const config = found.destination.config;
  if (found.destination.type === 'S3') return `S3 s3://${config.bucket_name}/${config.prefix ?? ''}`;
  if (found.destination.type === 'AzureBlob') {
    // With a connection string (write-only, not shown), the endpoint is not known here.
    const account =
      config.endpoint_url ?? (config.account_name ? `https://${config.account_name}.blob.core.windows.net` : '');
    return `AzureBlob ${account}/${config.container_name}/${config.prefix ?? ''}`;
  }
  if (found.destination.type === 'Postgres') {
    return `Postgres ${config.host}:${config.port ?? 5432}/${config.database} ${config.schema ?? 'public'}.${config.table_name}`;
  }
  return found.destination.type;
}
