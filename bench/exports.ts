import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createBatchExport } from '../src/service/batch-exports';
import type { BatchExportWorkflowResult } from '../workflows/types';
import { numberArgument, stringArgument, verdict, type SuiteResult } from './args';
import { BENCH_DATABASE_URL, BENCH_TEAM_ID, type BenchContext } from './context';
import { peakRssMb, resetPeakRss, timeShell } from './processes';
import { BENCH_INTERVAL, seedEvents } from './seed';

/**
 * Export throughput of the s3-export workflow against the shell pipeline a user would write instead, and the
 * worker's peak memory. Options: `--events N` (default 1,000,000), `--memory-events M` (a second JSONLines+gzip
 * export of M rows, for the memory comparison), `--only "S3 JSONLines+gzip,S3 Parquet+zstd"`.
 */
const SCENARIOS = [
  { name: 'S3 JSONLines+gzip', config: { file_format: 'JSONLines', compression: 'gzip' }, target: 1.0 },
  { name: 'S3 JSONLines+zstd', config: { file_format: 'JSONLines', compression: 'zstd' } },
  { name: 'S3 Parquet+zstd', config: { file_format: 'Parquet', compression: 'zstd' }, target: 0.6 },
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
  peakRssMb: number | null;
}

export async function exportsSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config, env, s3 } = context;
  const events = numberArgument('events', 1_000_000);
  const memoryEvents = numberArgument('memory-events', 0);
  const only = stringArgument('only')?.split(',') ?? null;
  const rows: Row[] = [];

  const exportOnce = async (name: string, exportConfig: Record<string, unknown>, count: number) => {
    const bucket = `bench-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const batchExport = await createBatchExport({ pool, temporal: client, config }, BENCH_TEAM_ID, {
      name,
      paused: true,
      destination: {
        type: 'S3',
        config: {
          bucket_name: bucket,
          endpoint_url: context.s3Endpoint,
          aws_access_key_id: 'bench',
          aws_secret_access_key: 'bench',
          ...exportConfig,
        },
      },
    });
    await resetPeakRss(context.worker.pid!);
    const started = performance.now();
    const result: BatchExportWorkflowResult = await client.workflow.execute('s3-export', {
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
    if (result.status !== 'Completed' || result.recordsCompleted !== count) {
      throw new Error(`${name}: ${result.status}, ${result.recordsCompleted} of ${count} rows: ${result.latestError}`);
    }
    return { seconds, bytes: result.bytesExported, peak: await peakRssMb(context.worker.pid!) };
  };

  await seedEvents(pool, BENCH_TEAM_ID, events);
  const referenceFile = path.join(context.directory, 'reference.jsonl.gz');
  const reference = await timeShell(`psql "$DATABASE_URL" -c "${referenceCopy()}" | gzip -1 > ${referenceFile}`, {
    DATABASE_URL: BENCH_DATABASE_URL,
  });
  const referenceBytes = (await stat(referenceFile)).size;
  rows.push(row('psql COPY | gzip -1 (reference)', events, reference, referenceBytes, null, null, null));
  for (const scenario of SCENARIOS.filter((candidate) => !only || only.includes(candidate.name))) {
    const measured = await exportOnce(scenario.name, scenario.config, events);
    const target = 'target' in scenario ? scenario.target : null;
    rows.push(row(scenario.name, events, measured.seconds, measured.bytes, reference, target, measured.peak));
  }
  if (memoryEvents) {
    await seedEvents(pool, BENCH_TEAM_ID, memoryEvents);
    const measured = await exportOnce('memory', { compression: 'gzip' }, memoryEvents);
    rows.push(
      row('S3 JSONLines+gzip (memory run)', memoryEvents, measured.seconds, measured.bytes, null, null, measured.peak),
    );
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
      target: verdict(r.ratio, r.target),
      'peak RSS MB': r.peakRssMb ?? '',
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
  return `COPY (SELECT json_build_object(${object}) FROM events WHERE team_id = ${BENCH_TEAM_ID} AND inserted_at >= '${BENCH_INTERVAL.start}' AND inserted_at < '${BENCH_INTERVAL.end}' ORDER BY inserted_at) TO STDOUT`;
}
