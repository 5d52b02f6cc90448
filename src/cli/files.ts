import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { intervalKeyPrefix } from '../destinations/s3/keys';
import type { ApiClient } from './api-client';
import { addApiOptions, apiClient, resolveExport, timeOption, UsageError, type ApiOptions } from './context';
import { bytes, table, time } from './format';
import type { BatchExport, Page, Run } from './resources';

interface FilesOptions extends ApiOptions {
  interval: string;
  print?: boolean;
  awsAccessKeyId?: string;
  awsSecretAccessKey?: string;
}

/** `files <export> --interval <start|latest> [--print]`: what one interval of an S3 export wrote. */
export function filesCommand(): Command {
  return addApiOptions(
    new Command('files')
      .description('List the files an interval of an S3 export wrote, and print their rows (--print)')
      .argument('<export>', 'id or name of the export')
      .requiredOption(
        '--interval <start|latest>',
        "the interval's start (2026-11-30T10:00:00Z), or latest: the newest Completed run",
      )
      .option('--print', 'print the rows of JSON-lines files (plain, gzip or brotli)')
      .option(
        '--aws-access-key-id <id>',
        'keys to read the bucket (env AWS_ACCESS_KEY_ID; the secrets the export keeps are write-only)',
      )
      .option('--aws-secret-access-key <secret>', 'env AWS_SECRET_ACCESS_KEY'),
  ).action(async (reference: string, options: FilesOptions) => {
    const api = apiClient(options);
    const found = await resolveExport(api, reference);
    if (found.destination.type !== 'S3')
      throw new UsageError(`Export ${found.id} writes to ${found.destination.type}, not S3`);
    const run = await findRun(api, found, options.interval);
    const config = found.destination.config as {
      bucket_name: string;
      region: string;
      endpoint_url?: string | null;
      prefix?: string;
    };
    const s3 = new S3Client({
      region: config.region,
      endpoint: config.endpoint_url ?? undefined,
      forcePathStyle: Boolean(config.endpoint_url),
      credentials: credentials(options, config.endpoint_url),
    });
    try {
      const prefix = intervalKeyPrefix({
        prefix: config.prefix ?? '',
        table: found.model ?? 'events',
        dataIntervalStart: new Date(run.data_interval_start ?? 0),
        dataIntervalEnd: new Date(run.data_interval_end),
      });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket_name, Prefix: prefix }));
      const objects = listed.Contents ?? [];
      console.log(
        `Interval ${time(run.data_interval_start)} to ${time(run.data_interval_end)}: run ${run.status}, ${run.records_completed ?? 0} rows`,
      );
      console.log(
        table(
          ['key', 'size'],
          objects.map((object) => [`s3://${config.bucket_name}/${object.Key}`, bytes(object.Size ?? 0)]),
        ),
      );
      if (!options.print) return;
      for (const object of objects) {
        if (object.Key!.endsWith('_manifest.json')) continue;
        const response = await s3.send(new GetObjectCommand({ Bucket: config.bucket_name, Key: object.Key }));
        const text = decode(object.Key!, Buffer.from(await response.Body!.transformToByteArray()));
        if (text === undefined)
          console.log(`${object.Key}: not printed (Parquet or zstd: read it with DuckDB or pyarrow)`);
        else process.stdout.write(text.endsWith('\n') || !text ? text : `${text}\n`);
      }
    } finally {
      s3.destroy();
    }
  });
}

/** The run of the interval asked for: `latest` is the newest Completed one. */
async function findRun(api: ApiClient, found: BatchExport, interval: string): Promise<Run> {
  if (interval === 'latest') {
    const page = await api.project<Page<Run>>(
      'GET',
      `/batch_exports/${found.id}/runs?status=Completed&ordering=-data_interval_end&limit=1`,
    );
    if (!page.results[0])
      throw new UsageError(`Export ${found.id} has no Completed run yet (npm run cli -- runs ${found.id})`);
    return page.results[0];
  }
  const start = new Date(timeOption(interval)).getTime();
  for (let path: string | null = `/batch_exports/${found.id}/runs?ordering=-data_interval_end&limit=500`; path;) {
    const page: Page<Run> = path.startsWith('/batch_exports')
      ? await api.project('GET', path)
      : await api.request('GET', path);
    const run = page.results.find(
      (candidate) => candidate.data_interval_start && new Date(candidate.data_interval_start).getTime() === start,
    );
    if (run) return run;
    path = page.next;
  }
  throw new UsageError(
    `Export ${found.id} has no run of an interval starting at ${interval} (npm run cli -- runs ${found.id})`,
  );
}

function credentials(options: FilesOptions, endpoint: string | null | undefined) {
  const accessKeyId = options.awsAccessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.awsSecretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey };
  // A local S3 (the dev demo's moto) takes any keys.
  if (endpoint && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint))
    return { accessKeyId: 'local', secretAccessKey: 'local' };
  return undefined;
}

function decode(key: string, body: Buffer): string | undefined {
  if (key.endsWith('.jsonl')) return body.toString('utf8');
  if (key.endsWith('.jsonl.gz')) return gunzipSync(body).toString('utf8');
  if (key.endsWith('.jsonl.br')) return brotliDecompressSync(body).toString('utf8');
  return undefined;
}
