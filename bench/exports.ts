import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { ensureDatabase } from '../src/db/ensure-database';
import { createBatchExport } from '../src/service/batch-exports';
import { EXPORT_WORKFLOW_TYPE, type BatchExportWorkflowResult } from '../src/temporal/contracts';
import { numberArgument, stringArgument, verdict, type SuiteResult } from './args';
import { BENCH_DATABASE_URL, BENCH_TEAM_ID, ensureTeam, type BenchContext } from './context';
import { startCpuMeter, type StageCpu } from './cpu';
import { profileWorkflows } from './history-profile';
import { peakRssMb, resetPeakRss, timeShell } from './processes';
import { BENCH_INTERVAL, seedEvents } from './seed';

/**
 * Export throughput of the batch-export workflow against the shell pipeline a user would write instead, and the
 * worker's peak memory. Options: `--events N` (default 1,000,000), `--memory-events M` (a second JSONLines+gzip
 * export of M rows, for the memory comparison), `--only "S3 JSONLines+gzip,Postgres destination"`, `--repeat N` (each
 * export and reference timed N times: the row is the run of median seconds, with the highest peak RSS of the N). The
 * Postgres destination row writes into the database named like the bench's with `_destination` appended.
 *
 * Targets (issue 19): JSONLines+gzip at least 1.3x its reference and Parquet+zstd 1.0x, both at least 0.7 of the
 * limit the measured CPU allows on this machine's cores; the Postgres destination 0.8x its reference.
 */
const SCENARIOS = [
  { name: 'S3 JSONLines+gzip', config: { file_format: 'JSONLines', compression: 'gzip' }, target: 1.3, limit: 0.7 },
  { name: 'S3 JSONLines+zstd', config: { file_format: 'JSONLines', compression: 'zstd' } },
  { name: 'S3 Parquet+zstd', config: { file_format: 'Parquet', compression: 'zstd' }, target: 1.0, limit: 0.7 },
  { name: 'S3 Parquet+snappy', config: { file_format: 'Parquet', compression: 'snappy' } },
] as const;

interface Row {
  name: string;
  events: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  ratio: number | null;
  target: number | null;
  /** The share of the CPU-bound limit the export must reach (see bench/cpu.ts); null: none. */
  limitTarget: number | null;
  peakRssMb: number | null;
  cpu: StageCpu | null;
}

export async function exportsSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config, env, s3 } = context;
  const events = numberArgument('events', 1_000_000);
  const memoryEvents = numberArgument('memory-events', 0);
  const only = stringArgument('only')?.split(',') ?? null;
  const repeat = numberArgument('repeat', 1);
  const median = async <T extends Measured>(measure: () => Promise<T>) => medianRun(await measureRuns(repeat, measure));
  const rows: Row[] = [];

  const s3Destination = async (exportConfig: Record<string, unknown>) => {
    const bucket = `bench-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      type: 'S3',
      config: {
        bucket_name: bucket,
        endpoint_url: context.s3Endpoint,
        aws_access_key_id: 'bench',
        aws_secret_access_key: 'bench',
        ...exportConfig,
      },
    };
  };

  const exportOnce = async (
    name: string,
    workflow: typeof EXPORT_WORKFLOW_TYPE,
    destination: Record<string, unknown>,
    count: number,
    teamId = BENCH_TEAM_ID,
  ) => {
    const batchExport = await createBatchExport({ pool, temporal: client, config }, teamId, {
      name,
      paused: true,
      destination,
    });
    // A fresh worker for each export: its peak is this export's alone, not what earlier ones left (a WebAssembly
    // heap never shrinks, and the garbage collector frees when it likes).
    await context.restartWorker();
    // Dirty pages of the earlier runs (a Postgres destination's million rows) are written now, not during this one.
    await pool.query('CHECKPOINT');
    await resetPeakRss(context.worker.pid!);
    const meter = startCpuMeter(context.worker.pid!, pool);
    const started = performance.now();
    const workflowId = `bench-${randomUUID()}`;
    const result: BatchExportWorkflowResult = await client.workflow.execute(workflow, {
      taskQueue: env.TASK_QUEUE!,
      workflowId,
      args: [
        {
          batchExportId: batchExport.id,
          teamId,
          interval: 'hour',
          timezone: 'UTC',
          dataIntervalEnd: BENCH_INTERVAL.end,
        },
      ],
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = await meter.stop();
    if (result.status !== 'Completed' || result.recordsCompleted !== count) {
      throw new Error(`${name}: ${result.status}, ${result.recordsCompleted} of ${count} rows: ${result.latestError}`);
    }
    // Where the time went (workflow tasks, each activity waiting and running), from the workflow's history.
    console.log(`${name}: ${JSON.stringify(await profileWorkflows(client, [workflowId]))}`);
    return { seconds, bytes: result.bytesExported, peak: await peakRssMb(context.worker.pid!), cpu };
  };

  await seedEvents(pool, BENCH_TEAM_ID, events);
  await pool.query('CHECKPOINT');
  const referenceFile = path.join(context.directory, 'reference.jsonl.gz');
  const { seconds: reference } = await median(async () => ({
    seconds: await timeShell(`psql "$DATABASE_URL" -c "${referenceCopy()}" | gzip -1 > ${referenceFile}`, {
      DATABASE_URL: BENCH_DATABASE_URL,
    }),
  }));
  const referenceBytes = (await stat(referenceFile)).size;
  rows.push(row('psql COPY | gzip -1 (reference)', events, reference, referenceBytes, null, null, null, null));
  for (const scenario of SCENARIOS.filter((candidate) => !only || only.includes(candidate.name))) {
    const measured = await median(async () =>
      exportOnce(scenario.name, EXPORT_WORKFLOW_TYPE, await s3Destination(scenario.config), events),
    );
    const target = 'target' in scenario ? scenario.target : null;
    const measuredRow = row(
      scenario.name,
      events,
      measured.seconds,
      measured.bytes,
      reference,
      target,
      measured.peak,
      measured.cpu,
    );
    rows.push({ ...measuredRow, limitTarget: 'limit' in scenario ? scenario.limit : null });
  }
  if (!only || only.includes(POSTGRES)) rows.push(...(await postgresRows(events, exportOnce, repeat)));
  if (memoryEvents) {
    // Its own team, so that both seeds stay between runs.
    await ensureTeam(pool, MEMORY_TEAM_ID);
    await seedEvents(pool, MEMORY_TEAM_ID, memoryEvents);
    const destination = await s3Destination({ compression: 'gzip' });
    const measured = await exportOnce('memory', EXPORT_WORKFLOW_TYPE, destination, memoryEvents, MEMORY_TEAM_ID);
    rows.push(row(MEMORY_RUN, memoryEvents, measured.seconds, measured.bytes, null, null, measured.peak, measured.cpu));
  }
  return {
    rows,
    table: rows.map((r) => ({
      export: r.name,
      rows: r.events,
      s: r.seconds,
      'rows/s': r.rowsPerSecond,
      'MB/s (output)': r.mbPerSecond,
      'x reference': r.ratio ?? '',
      target: [verdict(r.ratio, r.target), r.limitTarget !== null && r.cpu ? limitVerdict(r, r.limitTarget) : '']
        .filter(Boolean)
        .join('; '),
      'CPU s: worker main': r.cpu?.workerMain ?? '',
      'worker threads': r.cpu?.workerThreads ?? '',
      Postgres: r.cpu?.postgres ?? '',
      'CPU ms/1k rows': r.cpu
        ? Number((((r.cpu.workerMain + r.cpu.workerThreads + r.cpu.postgres) * 1e6) / r.events).toFixed(1))
        : '',
      'x of limit': r.cpu ? Number((r.cpu.limitSeconds / r.seconds).toFixed(2)) : '',
      'peak RSS MB': r.peakRssMb ?? '',
      'memory target': memoryVerdict(r, rows),
    })),
  };
}

function row(
  name: string,
  events: number,
  seconds: number,
  bytes: number,
  reference: number | null,
  target: number | null,
  peak: number | null,
  cpu: StageCpu | null,
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
    limitTarget: null,
    peakRssMb: peak,
    cpu,
  };
}

const POSTGRES = 'Postgres destination';
const MEMORY_RUN = 'S3 JSONLines+gzip (memory run)';
const MEMORY_TEAM_ID = BENCH_TEAM_ID + 1;
const MEMORY_TARGET_MB = 300;

/**
 * The memory target, on JSONLines+gzip: a peak of at most 300 MB, and the memory run's peak within 15% of the
 * main run's (memory does not grow with the interval).
 */
function memoryVerdict(r: Row, rows: Row[]): string {
  if (r.name !== 'S3 JSONLines+gzip' && r.name !== MEMORY_RUN) return '';
  const main = rows.find((candidate) => candidate.name === 'S3 JSONLines+gzip')?.peakRssMb ?? null;
  const peak = r.peakRssMb!;
  const parts = [`<= ${MEMORY_TARGET_MB} MB ${peak <= MEMORY_TARGET_MB ? 'met' : 'MISSED'}`];
  if (r.name === MEMORY_RUN && main !== null) {
    const growth = (peak - main) / main;
    parts.push(`${(growth * 100).toFixed(0)}% vs ${main} MB: ${Math.abs(growth) <= 0.15 ? 'met' : 'MISSED'}`);
  }
  return parts.join('; ');
}
const DESTINATION_DATABASE_URL = `${BENCH_DATABASE_URL}_destination`;

/**
 * The batch-export workflow into another database of the same server, against the pipeline a user would script:
 * `psql source -c "COPY (SELECT <the same columns> ...) TO STDOUT" | psql destination -c "COPY <table> FROM STDIN"`
 * into a table defined like the export's (LIKE ... INCLUDING ALL: same columns, same unique index).
 */
async function postgresRows(
  events: number,
  exportOnce: (
    name: string,
    workflow: typeof EXPORT_WORKFLOW_TYPE,
    destination: Record<string, unknown>,
    count: number,
  ) => Promise<{ seconds: number; bytes: number; peak: number; cpu: StageCpu }>,
  repeat: number,
): Promise<Row[]> {
  await ensureDatabase(DESTINATION_DATABASE_URL);
  const destination = new Client({ connectionString: DESTINATION_DATABASE_URL });
  await destination.connect();
  try {
    // Each run exports into a new table, then times the reference into a copy of it.
    const runs = await measureRuns(repeat, () => postgresRun(events, exportOnce, destination));
    const measured = medianRun(runs);
    const { seconds: reference } = medianRun(runs.map((run) => ({ seconds: run.reference })));
    return [
      row('psql COPY | psql COPY (reference)', events, reference, measured.bytes, null, null, null, null),
      row(POSTGRES, events, measured.seconds, measured.bytes, reference, 0.8, measured.peak, measured.cpu),
    ];
  } finally {
    await destination.end();
  }
}

/** One export into a new table and one reference copy into a table like it; both tables are dropped after. */
async function postgresRun(
  events: number,
  exportOnce: Parameters<typeof postgresRows>[1],
  destination: Client,
): Promise<{ seconds: number; bytes: number; peak: number; cpu: StageCpu; reference: number }> {
  const table = `events_${randomBytes(4).toString('hex')}`;
  const url = new URL(DESTINATION_DATABASE_URL);
  const measured = await exportOnce(
    POSTGRES,
    EXPORT_WORKFLOW_TYPE,
    {
      type: 'Postgres',
      config: {
        host: url.hostname,
        port: Number(url.port || 5432),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
        schema: 'public',
        table_name: table,
      },
    },
    events,
  );
  const { rows: columns } = await destination.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
     ORDER BY attnum`,
    [table],
  );
  await destination.query(`CREATE TABLE ${table}_reference (LIKE ${table} INCLUDING ALL)`);
  const select = `SELECT ${columns.map((column) => sourceColumn(column.name)).join(', ')} FROM events WHERE team_id = ${BENCH_TEAM_ID} AND inserted_at >= '${BENCH_INTERVAL.start}' AND inserted_at < '${BENCH_INTERVAL.end}' ORDER BY inserted_at`;
  await destination.query('CHECKPOINT');
  const reference = await timeShell(
    `psql "$SOURCE" -c "COPY (${select}) TO STDOUT" | psql "$DESTINATION" -c "COPY ${table}_reference FROM STDIN"`,
    { SOURCE: BENCH_DATABASE_URL, DESTINATION: DESTINATION_DATABASE_URL },
  );
  const { rows: counts } = await destination.query<{ exported: number; copied: number }>(
    `SELECT (SELECT count(*) FROM ${table})::int AS exported, (SELECT count(*) FROM ${table}_reference)::int AS copied`,
  );
  if (counts[0]!.exported !== events || counts[0]!.copied !== events) {
    throw new Error(`Postgres destination: ${JSON.stringify(counts[0])} rows, expected ${events} in each table`);
  }
  await destination.query(`DROP TABLE ${table}, ${table}_reference`);
  return { ...measured, reference };
}

interface Measured {
  seconds: number;
  peak?: number;
}

/** Measures `repeat` times (at least once), printing each run's seconds and peak RSS when there are several. */
async function measureRuns<T extends Measured>(repeat: number, measure: () => Promise<T>): Promise<T[]> {
  const runs: T[] = [];
  for (let run = 0; run < Math.max(1, repeat); run++) runs.push(await measure());
  if (runs.length > 1) {
    const peaks = runs.map((run) => run.peak).filter((peak) => peak !== undefined);
    console.log(
      `${runs.length} runs: s ${runs.map((run) => run.seconds.toFixed(1)).join(', ')}; peak MB ${peaks.join(', ')}`,
    );
  }
  return runs;
}

/**
 * The run of median seconds (the lower middle one for an even count), with the highest peak RSS of all the runs: a
 * median time, and a memory figure no run exceeded.
 */
function medianRun<T extends Measured>(runs: readonly T[]): T {
  const peaks = runs.map((run) => run.peak).filter((peak): peak is number => peak !== undefined);
  const middle = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
  return peaks.length ? { ...middle, peak: Math.max(...peaks) } : middle;
}

/** Share of the CPU-bound limit reached (see bench/cpu.ts), against the scenario's target share. */
function limitVerdict(r: Row, target: number): string {
  const share = r.cpu!.limitSeconds / r.seconds;
  return `${share >= target ? 'met' : 'MISSED'} >= ${target} of limit`;
}

/** The source expression of a column of the export's events table (src/destinations/postgres/table.ts). */
function sourceColumn(name: string): string {
  const derived: Record<string, string> = {
    elements: 'to_jsonb(elements_chain)',
    set: `properties -> '\\$set'`,
    set_once: `properties -> '\\$set_once'`,
    ip: `properties ->> '\\$ip'`,
    site_url: `properties ->> '\\$current_url'`,
  };
  return derived[name] ?? name;
}

/** The user's script: the exported event fields, in insertion order, as JSON text. */
function referenceCopy(): string {
  const fields = ['uuid', 'event', 'properties', 'distinct_id', 'team_id', 'timestamp', 'created_at', 'inserted_at']
    .concat(['elements_chain', 'person_id', 'person_properties'])
    .map((name) => `'${name}', ${name}`);
  const object = [...fields, `'set', properties -> '\\$set'`, `'set_once', properties -> '\\$set_once'`].join(', ');
  return `COPY (SELECT json_build_object(${object}) FROM events WHERE team_id = ${BENCH_TEAM_ID} AND inserted_at >= '${BENCH_INTERVAL.start}' AND inserted_at < '${BENCH_INTERVAL.end}' ORDER BY inserted_at) TO STDOUT`;
}
