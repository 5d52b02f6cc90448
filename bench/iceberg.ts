import { randomBytes, randomUUID } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ensureDatabase } from '../src/db/ensure-database';
import { createBatchExport } from '../src/service/batch-exports';
import type { BatchExportWorkflowResult } from '../src/temporal/contracts';
import { numberArgument, type SuiteResult } from './args';
import { BENCH_DATABASE_URL, BENCH_TEAM_ID, type BenchContext } from './context';
import { BENCH_INTERVAL, seedEvents } from './seed';

const BENCH_CREDENTIALS = { aws_access_key_id: 'bench', aws_secret_access_key: 'bench' };

/** The SQL catalog's database, next to the bench's. */
const CATALOG_DATABASE_URL = `${BENCH_DATABASE_URL}_iceberg_catalog`;

/**
 * `npm run bench -- --suite iceberg [--events N]` (default 1,000,000): one interval of N events exported as plain
 * Parquet+zstd files (S3) and as an Iceberg table (S3Iceberg, zstd, SQL catalog), both to moto through the real
 * worker; the Iceberg row's throughput relative to plain Parquet, and its commit time (manifest, manifest list,
 * metadata file, catalog swap) as the run's log line reports it.
 */
export async function icebergSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config, env, s3 } = context;
  const events = numberArgument('events', 1_000_000);
  await seedEvents(pool, BENCH_TEAM_ID, events);
  await ensureDatabase(CATALOG_DATABASE_URL);
  const catalog = new URL(CATALOG_DATABASE_URL);

  const run = async (name: string, type: 'S3' | 'S3Iceberg', extra: Record<string, unknown>) => {
    const bucket = `bench-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const destination = {
      type,
      config: { bucket_name: bucket, endpoint_url: context.s3Endpoint, ...BENCH_CREDENTIALS, ...extra },
    };
    const batchExport = await createBatchExport({ pool, temporal: client, config }, BENCH_TEAM_ID, {
      name,
      paused: true,
      destination,
    });
    await context.restartWorker();
    const started = performance.now();
    const result: BatchExportWorkflowResult = await client.workflow.execute('batch-export', {
      taskQueue: env.TASK_QUEUE!,
      workflowId: `bench-${randomUUID()}`,
      args: [
        {
          batchExportId: batchExport.id,
          teamId: BENCH_TEAM_ID,
          interval: 'hour',
          timezone: 'UTC',
          dataIntervalEnd: BENCH_INTERVAL.end,
        },
      ],
    });
    const seconds = (performance.now() - started) / 1000;
    if (result.status !== 'Completed' || result.recordsCompleted !== events) {
      throw new Error(`${name}: ${result.status}, ${result.recordsCompleted} of ${events} rows: ${result.latestError}`);
    }
    const { rows } = await pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND message LIKE 'Committed snapshot%'`,
      [result.runId],
    );
    const commitMs = Number(/commit took (\d+) ms/.exec(rows[0]?.message ?? '')?.[1] ?? NaN);
    return { name, seconds, commitMs: Number.isNaN(commitMs) ? null : commitMs };
  };

  const parquet = await run('S3 Parquet+zstd', 'S3', { file_format: 'Parquet', compression: 'zstd' });
  const iceberg = await run('S3Iceberg zstd, SQL catalog', 'S3Iceberg', {
    compression: 'zstd',
    namespace: 'bench',
    table_name: `events_${randomBytes(4).toString('hex')}`,
    catalog_host: catalog.hostname,
    catalog_port: Number(catalog.port || 5432),
    catalog_user: decodeURIComponent(catalog.username || 'postgres'),
    catalog_password: decodeURIComponent(catalog.password),
    catalog_database: catalog.pathname.slice(1),
  });
  const rows = [parquet, iceberg].map((measured) => ({
    ...measured,
    events,
    rowsPerSecond: Math.round(events / measured.seconds),
    // Throughput relative to plain Parquet: its time over ours.
    vsParquet: Number((parquet.seconds / measured.seconds).toFixed(2)),
  }));
  return {
    rows,
    table: rows.map((r) => ({
      export: r.name,
      rows: r.events,
      s: Number(r.seconds.toFixed(1)),
      'rows/s': r.rowsPerSecond,
      'x Parquet': r.vsParquet,
      'commit ms': r.commitMs ?? '',
    })),
  };
}
