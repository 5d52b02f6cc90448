import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { createFileEncoder } from '../src/formats';
import { createPool } from '../src/db/pool';
import { eventsQuery } from '../src/models/events';
import { streamCopyBatches } from '../src/models/copy-stream';
import { copyColumnsQuery } from '../src/models/types';
import { numberArgument, stringArgument } from './args';
import { BENCH_DATABASE_URL, BENCH_TEAM_ID } from './context';
import { BENCH_INTERVAL } from './seed';

/**
 * Reads the bench's seeded interval and encodes it as an S3 export would, in a plain Node process (no Temporal, no
 * upload): the memory and CPU of reading and encoding alone, to iterate on without the whole bench. Run the exports
 * suite once first (it seeds). `npx tsx bench/encode-probe.ts --format Parquet --compression zstd` prints peak RSS
 * (VmHWM), wall and CPU seconds of the process, of its main thread and of each thread, the main thread's garbage
 * collections (minor and full), and the output bytes. Options: --team,
 * --batch-mb (2, as the worker's file exports), --batch-rows, --row-group-rows (10000), --slice-rows (0: one COPY).
 */
async function main(): Promise<void> {
  const format = (stringArgument('format') ?? 'Parquet') as 'Parquet' | 'JSONLines';
  const compression = stringArgument('compression') ?? 'zstd';
  const team = numberArgument('team', BENCH_TEAM_ID);
  const pool = createPool(BENCH_DATABASE_URL, { max: 2, applicationName: 'encode-probe' });
  const model = eventsQuery({
    teamId: team,
    dataIntervalStart: new Date(BENCH_INTERVAL.start),
    dataIntervalEnd: new Date(BENCH_INTERVAL.end),
  });
  const encoder = createFileEncoder(
    format === 'Parquet'
      ? {
          format,
          compression: compression as 'zstd',
          fields: model.fields,
          rowGroupRows: numberArgument('row-group-rows', 10_000),
        }
      : { format, compression: compression as 'gzip', fields: model.fields },
  );
  // The main thread's garbage collections by kind: full ones were most of an export's CPU when every batch made
  // fresh buffers (docs/notes/issue-18-19-session-d.md).
  const collections = { minor: 0, major: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) collections.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) collections.minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const mainThread = threadTicks();
  const threadsBefore = threadSeconds();
  const peaks: Record<string, number> = {};
  const sampler = setInterval(() => {
    for (const [key, value] of Object.entries(process.memoryUsage())) peaks[key] = Math.max(peaks[key] ?? 0, value);
  }, 50);
  let rows = 0;
  let bytes = 0;
  const pending: Array<Promise<Buffer>> = [];
  for await (const batch of streamCopyBatches(
    pool,
    copyColumnsQuery(model, { withCursor: true, readerDerives: format === 'JSONLines' }),
    {
      batchBytes: numberArgument('batch-mb', 2) * 1024 * 1024,
      batchRows: numberArgument('batch-rows', 10_000),
      cursorWidth: model.orderBy.length,
      sliceRows: numberArgument('slice-rows', 0),
      sliceReadAhead: stringArgument('read-ahead') === 'true',
    },
  )) {
    rows += batch.rows;
    pending.push(encoder.encode(batch));
    batch.release?.();
    if (pending.length >= 2) bytes += (await pending.shift()!).length;
  }
  for (const encoded of pending) bytes += (await encoded).length;
  bytes += (await encoder.finish()).length;
  clearInterval(sampler);
  observer.disconnect();
  const used = process.cpuUsage(cpu);
  const threadsAfter = threadSeconds();
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  console.log(
    JSON.stringify({
      format,
      compression,
      rows,
      outputMB: Number((bytes / 1e6).toFixed(1)),
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      cpuSeconds: Number(((used.user + used.system) / 1e6).toFixed(2)),
      mainThreadCpuSeconds: Number(((threadTicks() - mainThread) / 100).toFixed(2)),
      peakRssMb: Math.round(hwm),
      mainPeaksMb: Object.fromEntries(Object.entries(peaks).map(([key, value]) => [key, Math.round(value / 1e6)])),
      mainCollections: collections,
      // Every thread that worked during the export, by id: the main thread, the codec thread, V8's helpers (garbage
      // collection) and libuv's pool (gzip).
      threadCpuSeconds: Object.fromEntries(
        [...threadsAfter]
          .map(([id, seconds]) => [id, Number((seconds - (threadsBefore.get(id) ?? 0)).toFixed(2))] as const)
          .filter(([, seconds]) => seconds >= 0.1),
      ),
    }),
  );
  await pool.end();
  process.exit(0);
}

/** CPU seconds of each of the process's threads so far, by `name:id`, from /proc/self/task. */
function threadSeconds(): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const task of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seconds.set(`${name}:${task}`, (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return seconds;
}

/** The calling thread's user + system clock ticks (1/100 s), from /proc/thread-self/stat. */
function threadTicks(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

void main();
