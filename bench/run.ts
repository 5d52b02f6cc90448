import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { ensureDatabase } from '../src/db/ensure-database';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { startMotoServer } from '../src/dev/moto';
import { startLocalTemporal } from '../src/dev/temporal-server';
import { createBatchExport } from '../src/service/batch-exports';
import { WORKFLOWS_PATH } from '../src/temporal/workflows-path';
import type { BatchExportWorkflowResult } from '../workflows/types';
import { peakRssMb, resetPeakRss, startWorkerProcess, timeShell } from './processes';
import { BENCH_INTERVAL, seedEvents } from './seed';

/**
 * `npm run bench [-- --events N --memory-events M --only "S3 JSONLines+gzip,S3 Parquet+zstd"]`: export throughput of the s3-export workflow against the shell
 * pipeline a user would write instead, and the worker's peak memory. Real worker process, Temporal dev server,
 * Postgres and moto S3; prints a table and writes bench/results/latest.json.
 */
const SCENARIOS = [
  { name: 'S3 JSONLines+gzip', config: { file_format: 'JSONLines', compression: 'gzip' }, target: 1.0 },
  { name: 'S3 JSONLines+zstd', config: { file_format: 'JSONLines', compression: 'zstd' } },
  { name: 'S3 Parquet+zstd', config: { file_format: 'Parquet', compression: 'zstd' }, target: 0.6 },
  { name: 'S3 Parquet+snappy', config: { file_format: 'Parquet', compression: 'snappy' } },
] as const;

const TEAM_ID = 900_001;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/batch_exports_bench';

interface Row {
  name: string;
  events: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  ratio: number | null;
  target: number | null;
  peakRssMb: number | null;
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function main(): Promise<void> {
  const events = argument('events', 1_000_000);
  const memoryEvents = argument('memory-events', 0);
  const directory = await mkdtemp(path.join(os.tmpdir(), 'batch-exports-bench-'));
  const [temporal, moto, bundle] = await Promise.all([
    startLocalTemporal(),
    startMotoServer(),
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    }),
  ]);
  const bundlePath = path.join(directory, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
  await ensureDatabase(DATABASE_URL);
  const pool = createPool(DATABASE_URL, { max: 4, applicationName: 'batch-exports-bench' });
  const env = {
    DATABASE_URL,
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: `bench-${randomUUID()}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // Node flags for the worker alone, to try memory settings (e.g. --max-old-space-size=160).
    NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS ?? '',
  };
  const config = loadConfig(env);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const worker = await startWorkerProcess(env);
  const rows: Row[] = [];
  try {
    await migrate(pool);
    await ensureTeam(pool);

    const exportOnce = async (name: string, exportConfig: Record<string, unknown>, count: number) => {
      const bucket = `bench-${randomBytes(4).toString('hex')}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const batchExport = await createBatchExport({ pool, temporal: client, config }, TEAM_ID, {
        name,
        paused: true,
        destination: {
          type: 'S3',
          config: {
            bucket_name: bucket,
            endpoint_url: moto.endpoint,
            aws_access_key_id: 'bench',
            aws_secret_access_key: 'bench',
            ...exportConfig,
          },
        },
      });
      await resetPeakRss(worker.pid!);
      const started = performance.now();
      const result: BatchExportWorkflowResult = await client.workflow.execute('s3-export', {
        taskQueue: env.TASK_QUEUE,
        workflowId: `bench-${randomUUID()}`,
        args: [
          {
            batchExportId: batchExport.id,
            teamId: TEAM_ID,
            interval: 'hour',
            timezone: 'UTC',
            dataIntervalEnd: BENCH_INTERVAL.end,
          },
        ],
      });
      const seconds = (performance.now() - started) / 1000;
      if (result.status !== 'Completed' || result.recordsCompleted !== count) {
        throw new Error(
          `${name}: ${result.status}, ${result.recordsCompleted} of ${count} rows: ${result.latestError}`,
        );
      }
      return { seconds, bytes: result.bytesExported, peak: await peakRssMb(worker.pid!) };
    };

    await seedEvents(pool, TEAM_ID, events);
    const referenceFile = path.join(directory, 'reference.jsonl.gz');
    const reference = await timeShell(`psql "$DATABASE_URL" -c "${referenceCopy()}" | gzip -1 > ${referenceFile}`, {
      DATABASE_URL,
    });
    const referenceBytes = (await stat(referenceFile)).size;
    rows.push(row('psql COPY | gzip -1 (reference)', events, reference, referenceBytes, null, null, null));
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]!.split(',') : null;
    for (const scenario of SCENARIOS.filter((candidate) => !only || only.includes(candidate.name))) {
      const measured = await exportOnce(scenario.name, scenario.config, events);
      const target = 'target' in scenario ? scenario.target : null;
      rows.push(row(scenario.name, events, measured.seconds, measured.bytes, reference, target, measured.peak));
    }
    if (memoryEvents) {
      await seedEvents(pool, TEAM_ID, memoryEvents);
      const measured = await exportOnce('memory', { compression: 'gzip' }, memoryEvents);
      rows.push(
        row(
          'S3 JSONLines+gzip (memory run)',
          memoryEvents,
          measured.seconds,
          measured.bytes,
          null,
          null,
          measured.peak,
        ),
      );
    }
  } finally {
    worker.kill('SIGTERM');
    s3.destroy();
    await connection.close();
    await pool.end();
    await Promise.allSettled([temporal.env.teardown(), moto.stop()]);
    await rm(directory, { recursive: true, force: true });
  }
  report(rows);
  await mkdir(path.join(__dirname, 'results'), { recursive: true });
  const results = { machine: { cpus: os.cpus().length, node: process.version }, at: new Date().toISOString(), rows };
  await writeFile(path.join(__dirname, 'results/latest.json'), JSON.stringify(results, null, 2) + '\n');
}

function row(
  name: string,
  events: number,
  seconds: number,
  bytes: number,
  reference: number | null,
  target: number | null,
  peak: number | null,
): Row {
  return {
    name,
    events,
    seconds: Number(seconds.toFixed(1)),
    rowsPerSecond: Math.round(events / seconds),
    mbPerSecond: Number((bytes / 1e6 / seconds).toFixed(1)),
    // Throughput relative to the reference: its time over ours.
    ratio: reference === null ? null : Number((reference / seconds).toFixed(2)),
    target,
    peakRssMb: peak,
  };
}

/** The user's script: the exported event fields, in insertion order, as JSON text. */
function referenceCopy(): string {
  const fields = ['uuid', 'event', 'properties', 'distinct_id', 'team_id', 'timestamp', 'created_at', 'inserted_at']
    .concat(['elements_chain', 'person_id', 'person_properties'])
    .map((name) => `'${name}', ${name}`);
  const object = [...fields, `'set', properties -> '\\$set'`, `'set_once', properties -> '\\$set_once'`].join(', ');
  return `COPY (SELECT json_build_object(${object}) FROM events WHERE team_id = ${TEAM_ID} AND inserted_at >= '${BENCH_INTERVAL.start}' AND inserted_at < '${BENCH_INTERVAL.end}' ORDER BY inserted_at) TO STDOUT`;
}

async function ensureTeam(pool: ReturnType<typeof createPool>): Promise<void> {
  const { rowCount } = await pool.query('SELECT 1 FROM projects WHERE id = $1', [TEAM_ID]);
  if (rowCount) return;
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('bench') RETURNING id`);
  await pool.query(`INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, 'bench')`, [TEAM_ID, rows[0]!.id]);
}

function report(rows: Row[]): void {
  console.table(
    rows.map((r) => ({
      export: r.name,
      rows: r.events,
      s: r.seconds,
      'rows/s': r.rowsPerSecond,
      'MB/s (output)': r.mbPerSecond,
      'x reference': r.ratio ?? '',
      target: r.target === null ? '' : `>= ${r.target}x ${r.ratio !== null && r.ratio >= r.target ? 'met' : 'MISSED'}`,
      'peak RSS MB': r.peakRssMb ?? '',
    })),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
