import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig, type Config } from '../src/config';
import { ensureDatabase } from '../src/db/ensure-database';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { startMotoServer } from '../src/dev/moto';
import { startLocalTemporal } from '../src/dev/temporal-server';
import { buildDist, DIST } from '../src/dev/build';
import { stringArgument } from './args';
import { startWorkerProcess } from './processes';

export const BENCH_TEAM_ID = 900_001;
/** As in the Dockerfile; BENCH_WORKER_MALLOC=default leaves glibc's defaults, to compare. */
const WORKER_MALLOC_ENV: Record<string, string> =
  process.env.BENCH_WORKER_MALLOC === 'default' ? {} : { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/** As in the Dockerfile: V8's young generation at 4 MB per semi-space (README, "Memory"). */
const WORKER_NODE_OPTIONS = '--max-semi-space-size=4';

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/batch_exports_bench';

/** Everything a benchmark suite runs against: the real worker process, Temporal dev server, Postgres and moto S3. */
export interface BenchContext {
  pool: Pool;
  client: Client;
  config: Config;
  /** The worker's environment (task queue, database, Temporal address). */
  env: Record<string, string>;
  worker: ChildProcess;
  s3: S3Client;
  s3Endpoint: string;
  /** A scratch directory, removed at the end. */
  directory: string;
  /** Restarts the worker process with extra environment (e.g. other limits); the old one is stopped first. */
  restartWorker(extra?: Record<string, string>): Promise<ChildProcess>;
}

export async function startBenchContext(): Promise<BenchContext & { stop(): Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'batch-exports-bench-'));
  // The worker runs as built for production: compiled, with its workflow bundle (dist/).
  const [temporal, moto] = await Promise.all([temporalServer(), startMotoServer(), buildDist()]);
  await ensureDatabase(BENCH_DATABASE_URL);
  const pool = createPool(BENCH_DATABASE_URL, { max: 4, applicationName: 'batch-exports-bench' });
  await migrate(pool);
  await ensureTeam(pool, BENCH_TEAM_ID);
  const env: Record<string, string> = {
    DATABASE_URL: BENCH_DATABASE_URL,
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: `bench-${randomUUID()}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WORKFLOW_BUNDLE_PATH: DIST.workflowBundle,
    // moto and the Postgres destination are on loopback, which the default network policy refuses.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    // The SDK's default, as the figures in the README were measured: the schedules suite runs 500 small exports.
    WORKER_MAX_CONCURRENT_ACTIVITIES: process.env.BENCH_WORKER_MAX_CONCURRENT_ACTIVITIES ?? '100',
    // Node flags for the worker alone: the Dockerfile's, unless BENCH_WORKER_NODE_OPTIONS says otherwise ('' for
    // Node's defaults).
    NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS ?? WORKER_NODE_OPTIONS,
    // The allocator settings the Dockerfile gives the worker (README "Memory"): measure what production runs.
    ...WORKER_MALLOC_ENV,
    // BENCH_WORKER_ENV="SOURCE_SLICE_ROWS=0,PARQUET_ROW_GROUP_ROWS=25000": settings to compare, for the worker alone.
    ...Object.fromEntries(
      (process.env.BENCH_WORKER_ENV ?? '')
        .split(',')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')).trim(), entry.slice(entry.indexOf('=') + 1)]),
    ),
  };
  const connection = await Connection.connect({ address: temporal.address });
  const context = {
    pool,
    client: new Client({ connection }),
    config: loadConfig(env),
    env,
    worker: await startWorkerProcess(env),
    s3: new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    }),
    s3Endpoint: moto.endpoint,
    directory,
    async restartWorker(extra: Record<string, string> = {}) {
      await stopWorker(context.worker);
      context.worker = await startWorkerProcess({ ...env, ...extra });
      return context.worker;
    },
    async stop() {
      await stopWorker(context.worker);
      context.s3.destroy();
      await connection.close();
      await pool.end();
      await Promise.allSettled([temporal.env.teardown(), moto.stop()]);
      await rm(directory, { recursive: true, force: true });
    },
  };
  return context;
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null) return;
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGTERM');
  await exited;
}

/** Creates project `teamId` (and an organization for it) unless it exists. */
export async function ensureTeam(pool: Pool, teamId: number): Promise<void> {
  const { rowCount } = await pool.query('SELECT 1 FROM projects WHERE id = $1', [teamId]);
  if (rowCount) return;
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('bench') RETURNING id`);
  await pool.query(`INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, 'bench')`, [teamId, rows[0]!.id]);
}

/**
 * The Temporal cluster `--temporal-address host:port` names (its `default` namespace; left running), else a dev
 * server of the bench's own.
 */
async function temporalServer(): Promise<{ address: string; env: { teardown(): Promise<void> } }> {
  const address = stringArgument('temporal-address');
  if (address === undefined) return startLocalTemporal({ dynamicConfig: dynamicConfigFromEnv() });
  if (!/^[^:\s]+:\d+$/.test(address)) throw new Error(`--temporal-address must be host:port, not ${address}`);
  return { address, env: { teardown: async () => undefined } };
}

/**
 * BENCH_TEMPORAL_DYNAMIC_CONFIG="key=value,key=value": settings for the bench's Temporal dev server (values are
 * JSON: numbers and booleans as they are), to compare server configurations.
 */
function dynamicConfigFromEnv(): Record<string, string | number | boolean> {
  const entries = (process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? '').split(',').filter(Boolean);
  return Object.fromEntries(
    entries.map((entry) => {
      const [key, value = ''] = entry.split('=');
      const parsed = /^-?[\d.]+$/.test(value)
        ? Number(value)
        : value === 'true' || value === 'false'
          ? value === 'true'
          : value;
      return [key!.trim(), parsed];
    }),
  );
}
