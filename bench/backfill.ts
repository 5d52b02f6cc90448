import { createBackfill } from '../src/service/backfills';
import { createBatchExport } from '../src/service/batch-exports';
import { deleteBatchExport } from '../src/service/batch-export-lifecycle';
import { TERMINAL_STATUSES } from '../src/statuses';
import { numberArgument, verdict, type SuiteResult } from './args';
import { ensureTeam, type BenchContext } from './context';
import { startMachineCpuMeter } from './cpu';
import { profileBackfillParent, profileWorkflows } from './history-profile';
import { loadAverage, s3Destination, seconds, seedSpreadEvents } from './fixtures';

/**
 * Backfill throughput: an hourly S3 export (JSONLines+gzip to moto) backfilled over 30 days (720 intervals) holding
 * 10,000 events spread over them, created through the service as the API does (createBatchExport, createBackfill)
 * and timed from createBackfill to the backfill row's Completed. Checks 720 Completed runs and every seeded event
 * exported. Target (issue 19): at least 25 intervals/s. Also prints what one interval costs on the Temporal server
 * (history events, workflow tasks, activity tasks, local activities: what Temporal Cloud bills).
 *
 * It uses a team of its own (BACKFILL_TEAM_ID) and December 2024, so the exports suite's seeds (which delete every
 * event of their teams, 900001 and 900002) and its hour (2025-01-15) are not touched.
 *
 * Options: `--backfill-intervals N` (default 720: the hours ending at BACKFILL_END), `--backfill-events N` (default
 * 10,000), `--backfill-parallel N` (the backfill's maxParallelRuns; default the config's BACKFILL_MAX_PARALLEL_RUNS).
 */
export const BACKFILL_TEAM_ID = 900_005;
const BACKFILL_END = new Date('2024-12-31T00:00:00Z');
const HOUR_MS = 3_600_000;
const TARGET_INTERVALS_PER_SECOND = 25;

export async function backfillSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client } = context;
  const intervals = numberArgument('backfill-intervals', 720);
  const events = numberArgument('backfill-events', 10_000);
  const parallel = numberArgument('backfill-parallel', context.config.backfills.maxParallelRuns);
  const range = { start: new Date(BACKFILL_END.getTime() - intervals * HOUR_MS), end: BACKFILL_END };
  const deps = {
    pool,
    temporal: client,
    config: { ...context.config, backfills: { ...context.config.backfills, maxParallelRuns: parallel } },
  };

  await ensureTeam(pool, BACKFILL_TEAM_ID);
  await seedSpreadEvents(pool, BACKFILL_TEAM_ID, events, range);
  const { destination } = await s3Destination(context, 'backfill/{year}/{month}/{day}');
  const batchExport = await createBatchExport(deps, BACKFILL_TEAM_ID, {
    name: 'bench backfill',
    interval: 'hour',
    paused: true,
    destination: destination(),
  });
  try {
    const loadBefore = loadAverage();
    const cpu = startMachineCpuMeter(context.worker.pid!);
    const started = performance.now();
    const backfill = await createBackfill(deps, {
      teamId: BACKFILL_TEAM_ID,
      batchExportId: batchExport.id,
      body: { start_at: range.start.toISOString(), end_at: range.end.toISOString() },
    });
    let status = backfill.status;
    while (!TERMINAL_STATUSES.includes(status)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { rows } = await pool.query<{ status: typeof status }>(
        'SELECT status FROM batch_export_backfills WHERE id = $1',
        [backfill.id],
      );
      status = rows[0]!.status;
    }
    const elapsedMs = performance.now() - started;
    const cpuSeconds = cpu.stop();
    const loadAfter = loadAverage();

    const { rows } = await pool.query<RunFigures>(
      `SELECT count(*) FILTER (WHERE r.status = 'Completed')::int AS completed,
              coalesce(sum(r.records_completed), 0)::int AS records,
              extract(epoch FROM min(r.created_at) - b.created_at)::float AS first_run_after,
              avg(extract(epoch FROM r.finished_at - r.created_at))::float AS mean_run,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.created_at))::float
                AS p95_run,
              sum(extract(epoch FROM r.finished_at - r.created_at))::float AS run_seconds
       FROM batch_export_backfills b JOIN batch_export_runs r ON r.backfill_id = b.id
       WHERE b.id = $1 GROUP BY b.created_at`,
      [backfill.id],
    );
    const figures = rows[0] ?? {
      completed: 0,
      records: 0,
      first_run_after: 0,
      mean_run: 0,
      p95_run: 0,
      run_seconds: 0,
    };
    if (status !== 'Completed' || figures.completed !== intervals || figures.records !== events) {
      throw new Error(
        `Backfill ${backfill.id} ended ${status} with ${figures.completed} of ${intervals} runs Completed and ${figures.records} of ${events} records exported`,
      );
    }
    // Where one interval's time goes, from Temporal histories: 20 runs spread over the backfill, and the backfill's
    // latest workflow run.
    const { rows: sample } = await pool.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM (SELECT workflow_id, row_number() OVER (ORDER BY data_interval_end) AS n
                                FROM batch_export_runs WHERE backfill_id = $1) AS runs
       WHERE n % greatest(1, $2::int / 20) = 0 LIMIT 20`,
      [backfill.id, intervals],
    );
    const profile = {
      ...(await profileBackfillParent(client, backfill.workflow_id!)),
      ...prefixed(
        'run: ',
        await profileWorkflows(
          client,
          sample.map((run) => run.workflow_id),
        ),
      ),
    };
    console.log('backfill: mean milliseconds per interval, from Temporal histories');
    console.table(profile);
    // What one interval costs the machine, by process: on 2 cores, 25 intervals/s leaves 80 CPU ms per interval.
    const allCpuSeconds = Object.values(cpuSeconds).reduce((sum, spent) => sum + spent, 0);
    const cpuMsPerInterval = Object.fromEntries(
      Object.entries({ ...cpuSeconds, total: allCpuSeconds }).map(([kind, spent]) => [
        kind,
        Math.round((spent * 1000) / intervals),
      ]),
    );
    console.log('backfill: CPU milliseconds per interval, by process, while the backfill ran');
    console.table(cpuMsPerInterval);
    const intervalsPerSecond = Number((intervals / (elapsedMs / 1000)).toFixed(1));
    const row = {
      name: `${intervals} hourly intervals, S3 JSONLines+gzip`,
      intervals,
      events,
      parallelRuns: parallel,
      seconds: seconds(elapsedMs),
      intervalsPerSecond,
      target: TARGET_INTERVALS_PER_SECOND,
      runsCompleted: figures.completed,
      recordsExported: figures.records,
      // Where the time goes: the first run's delay, how long one run takes (its row from Starting to Completed),
      // and how busy the parallel slots were (run time over wall time x parallelism).
      firstRunAfterSeconds: Number(figures.first_run_after.toFixed(2)),
      meanRunSeconds: Number(figures.mean_run.toFixed(2)),
      p95RunSeconds: Number(figures.p95_run.toFixed(2)),
      slotsBusy: Number((figures.run_seconds / ((elapsedMs / 1000) * parallel)).toFixed(2)),
      loadAverage: `${loadBefore} -> ${loadAfter}`,
      profileMs: profile,
      cpuMsPerInterval,
    };
    return {
      rows: [row],
      table: [
        {
          backfill: row.name,
          parallel: row.parallelRuns,
          s: row.seconds,
          'intervals/s': row.intervalsPerSecond,
          target: verdict(row.intervalsPerSecond, row.target, '/s'),
          'runs Completed': row.runsCompleted,
          records: row.recordsExported,
          'mean run s': row.meanRunSeconds,
          'p95 run s': row.p95RunSeconds,
          'slots busy': row.slotsBusy,
          load: row.loadAverage,
        },
      ],
    };
  } finally {
    await deleteBatchExport(deps, [BACKFILL_TEAM_ID], batchExport.id, 'bench');
  }
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [prefix + key, value]));
}

interface RunFigures {
  completed: number;
  records: number;
  first_run_after: number;
  mean_run: number;
  p95_run: number;
  run_seconds: number;
}
