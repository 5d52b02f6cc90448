import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { createBatchExport } from '../src/service/batch-exports';
import { deleteBatchExport } from '../src/service/batch-export-lifecycle';
import { EXPORT_WORKFLOW_TYPE } from '../src/temporal/contracts';
import { numberArgument, stringArgument, type SuiteResult } from './args';
import { ensureTeam, stopWorker, type BenchContext } from './context';
import { loadAverage, mapConcurrently, s3Destination, seconds, seedSpreadEvents } from './fixtures';
import { peakRssMb, startWorkerProcess } from './processes';

/**
 * Scale-out: the same batch of small exports (S3 JSONLines+gzip to moto, a few events each) served by 1, 2 and 3
 * worker processes on one task queue (a fresh queue per round, so no worker of an earlier round takes part). Measures
 * from starting the runs' workflows to the last one Completed: runs per second per worker count. Every run must
 * complete with every event.
 *
 * Options: `--workers-counts 1,2,3`, `--workers-exports N` (default 200), `--workers-events N` (events per run,
 * default 5). The workers run with their default capacity (WORKER_MEMORY_BUDGET_MB), unlike the other suites.
 */
export const WORKERS_TEAM_ID = 900_004;
/** Below the bench pool's 4 connections (see schedules.ts). */
const CREATE_CONCURRENCY = 3;
const INTERVAL = { start: new Date('2024-03-01T10:00:00Z'), end: new Date('2024-03-01T11:00:00Z') };

export async function workersSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config } = context;
  const counts = (stringArgument('workers-counts') ?? '1,2,3').split(',').map(Number);
  const exportCount = numberArgument('workers-exports', 200);
  const events = numberArgument('workers-events', 5);
  const deps = { pool, temporal: client, config };
  await ensureTeam(pool, WORKERS_TEAM_ID);
  await seedSpreadEvents(pool, WORKERS_TEAM_ID, events, INTERVAL);
  const { destination } = await s3Destination(context);
  const ids: string[] = [];
  try {
    await mapConcurrently(
      Array.from({ length: exportCount }, (_, i) => i),
      CREATE_CONCURRENCY,
      async (i) => {
        const created = await createBatchExport(deps, WORKERS_TEAM_ID, {
          name: `bench workers ${i}`,
          paused: true,
          destination: destination(`workers/${i}`),
        });
        ids.push(created.id);
      },
    );
    const rows = [];
    for (const workers of counts) rows.push(await measureRound(context, ids, workers, events));
    const base = rows[0]!.runsPerSecond;
    return {
      rows,
      table: rows.map((row) => ({
        workers: row.workers,
        runs: row.runs,
        s: row.seconds,
        'runs/s': row.runsPerSecond,
        'vs first': Number((row.runsPerSecond / base).toFixed(2)),
        'peak RSS MB': row.peakRssMb.join(' / '),
        load: row.loadAverage,
      })),
    };
  } finally {
    await mapConcurrently(ids, CREATE_CONCURRENCY, (id) => deleteBatchExport(deps, [WORKERS_TEAM_ID], id, 'bench'));
  }
}

async function measureRound(context: BenchContext, ids: string[], workers: number, events: number) {
  const taskQueue = `bench-workers-${randomUUID()}`;
  const processes: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++)
      processes.push(await startWorkerProcess({ ...context.env, TASK_QUEUE: taskQueue }));
    const loadBefore = loadAverage();
    const started = performance.now();
    const handles = await mapConcurrently(ids, 20, (id) =>
      context.client.workflow.start(EXPORT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `${id}-${taskQueue}`,
        args: [
          {
            batchExportId: id,
            teamId: WORKERS_TEAM_ID,
            interval: 'hour',
            timezone: 'UTC',
            dataIntervalEnd: INTERVAL.end.toISOString(),
          },
        ],
      }),
    );
    const results = await Promise.all(handles.map((handle) => handle.result()));
    const elapsedMs = performance.now() - started;
    const failed = results.filter((result) => result.status !== 'Completed' || result.recordsCompleted !== events);
    if (failed.length) throw new Error(`${workers} workers: ${failed.length} runs did not export all ${events} events`);
    const peaks = await Promise.all(processes.map((child) => peakRssMb(child.pid!)));
    console.log(`workers: ${workers} processes ran ${ids.length} exports in ${seconds(elapsedMs)} s`);
    return {
      name: `${ids.length} S3 JSONLines+gzip exports of ${events} events`,
      workers,
      runs: ids.length,
      seconds: seconds(elapsedMs),
      runsPerSecond: Number(((ids.length * 1000) / elapsedMs).toFixed(1)),
      peakRssMb: peaks,
      loadAverage: `${loadBefore} -> ${loadAverage()}`,
    };
  } finally {
    await Promise.all(processes.map(stopWorker));
  }
}
