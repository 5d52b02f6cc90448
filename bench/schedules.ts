import { createBatchExport } from '../src/service/batch-exports';
import { deleteBatchExport } from '../src/service/batch-export-lifecycle';
import { numberArgument, verdict, type SuiteResult } from './args';
import { ensureTeam, type BenchContext } from './context';
import { profileWorkflows } from './history-profile';
import { loadAverage, mapConcurrently, s3Destination, seconds, seedSpreadEvents } from './fixtures';

/**
 * Schedule scale: 1,000 batch exports every 5 minutes (real Temporal schedules, created through the service as the API
 * does), each an S3 JSONLines+gzip export to moto of a few events, all served by the one bench worker. Measures one
 * tick: from the scheduled time to the last of the 1,000 runs Completed in batch_export_runs (every run must complete,
 * with every event). Target: within 60 s.
 *
 * The schedules fire on the wall clock. The exports are created with `start_at` just before a tick far enough ahead
 * for all of them to exist by then, so that every schedule's first firing is that tick; when creating them takes
 * longer than planned, the next tick is measured instead. Waits up to one interval plus the creation time. The
 * exports (and their schedules) are deleted at the end.
 *
 * Also prints where the last 20 runs to start spent their time, from their Temporal histories (how long after the
 * tick each workflow started, its workflow tasks, its activities).
 *
 * Options: `--schedule-exports N` (default 1,000, issue 19), `--schedule-events N` (events in the measured interval, exported by
 * every export; default 5), `--schedule-minutes M` (the interval, "every M minutes"; default 5).
 */
export const SCHEDULE_TEAM_ID = 900_003;
const TARGET_SECONDS = 60;
/**
 * Exports created (and deleted) at once. Below the bench pool's 4 connections: deleting holds a transaction's
 * connection while it cancels backfills through another one, so 4 at once would wait on each other forever.
 */
const CREATE_CONCURRENCY = 3;
/** Planning figure for one export's creation (a transaction and a schedule), with all CREATE_CONCURRENCY lanes busy. */
const CREATE_SECONDS_EACH = 0.1;
/** How long the measurement waits for the runs after the tick before it gives up. */
const WAIT_AFTER_TICK_MS = 10 * 60_000;

export async function schedulesSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config } = context;
  const count = numberArgument('schedule-exports', 1000);
  const events = numberArgument('schedule-events', 5);
  const minutes = numberArgument('schedule-minutes', 5);
  const intervalMs = minutes * 60_000;
  const deps = { pool, temporal: client, config };

  await ensureTeam(pool, SCHEDULE_TEAM_ID);
  const { destination } = await s3Destination(context);
  // The first tick the exports can all exist by, with a margin.
  const planned = nextTick(Date.now() + 20_000 + count * CREATE_SECONDS_EACH * 1000, intervalMs);
  const startAt = new Date(planned - 30_000);
  const ids: string[] = [];
  try {
    const creationStarted = performance.now();
    await mapConcurrently(
      Array.from({ length: count }, (_, i) => i),
      CREATE_CONCURRENCY,
      async (i) => {
        const created = await createBatchExport(deps, SCHEDULE_TEAM_ID, {
          name: `bench schedule ${i}`,
          interval: `every ${minutes} minutes`,
          start_at: startAt.toISOString(),
          destination: destination(`schedules/${i}`),
        });
        ids.push(created.id);
      },
    );
    const creationMs = performance.now() - creationStarted;
    // Created too late for the planned tick (some schedules would miss it): measure the next one.
    const tick = new Date(nextTick(Math.max(Date.now() + 2_000, planned), intervalMs));
    await seedSpreadEvents(pool, SCHEDULE_TEAM_ID, events, { start: new Date(tick.getTime() - intervalMs), end: tick });
    console.log(
      `schedules: ${count} exports created in ${seconds(creationMs)} s; measuring the tick at ${tick.toISOString()} (in ${seconds(tick.getTime() - Date.now())} s)`,
    );
    await sleep(tick.getTime() - Date.now());
    const loadAtTick = loadAverage();
    const figures = await waitForTick(context, ids, tick, count);
    const loadAfter = loadAverage();
    if (figures.completed !== count || figures.records !== count * events) {
      throw new Error(
        `The tick at ${tick.toISOString()}: ${figures.completed} of ${count} runs Completed (${figures.runs} started), ${figures.records} of ${count * events} records exported`,
      );
    }
    // Where a run's time goes, from the Temporal histories of 20 runs (the last 20 to start: the slowest).
    const { rows: sample } = await pool.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM batch_export_runs WHERE batch_export_id = ANY($1::uuid[]) AND data_interval_end = $2
       ORDER BY created_at DESC LIMIT 20`,
      [ids, tick],
    );
    const profile = await profileWorkflows(
      client,
      sample.map((run) => run.workflow_id),
      tick,
    );
    console.log('schedules: mean milliseconds per run of the last 20 to start, from Temporal histories');
    console.table(profile);
    const row = {
      name: `${count} exports every ${minutes} minutes, S3 JSONLines+gzip, ${events} events each`,
      exports: count,
      eventsPerExport: events,
      tick: tick.toISOString(),
      creationSeconds: seconds(creationMs),
      // From the scheduled time: the first and last run recorded (jitter and start delays), the median and last
      // run Completed; and one run's own duration (its row from Starting to Completed).
      firstRunStartedSeconds: figures.first_started,
      lastRunStartedSeconds: figures.last_started,
      medianCompletedSeconds: figures.median_completed,
      lastCompletedSeconds: figures.last_completed,
      target: TARGET_SECONDS,
      meanRunSeconds: figures.mean_run,
      runsCompleted: figures.completed,
      recordsExported: figures.records,
      loadAverage: `${loadAtTick} -> ${loadAfter}`,
      profileMs: profile,
    };
    return {
      rows: [row],
      table: [
        {
          schedules: row.name,
          'first started s': row.firstRunStartedSeconds,
          'last started s': row.lastRunStartedSeconds,
          'median done s': row.medianCompletedSeconds,
          'last done s': row.lastCompletedSeconds,
          target: verdict(row.lastCompletedSeconds, row.target, ' s', true),
          'mean run s': row.meanRunSeconds,
          'runs Completed': row.runsCompleted,
          records: row.recordsExported,
          load: row.loadAverage,
        },
      ],
    };
  } finally {
    await mapConcurrently(ids, CREATE_CONCURRENCY, (id) => deleteBatchExport(deps, [SCHEDULE_TEAM_ID], id, 'bench'));
  }
}

interface TickFigures {
  runs: number;
  completed: number;
  final: number;
  records: number;
  first_started: number;
  last_started: number;
  median_completed: number;
  last_completed: number;
  mean_run: number;
}

/** Polls the runs of the tick until all are final (or time is up); seconds are counted from the tick. */
async function waitForTick(context: BenchContext, ids: string[], tick: Date, count: number): Promise<TickFigures> {
  const deadline = tick.getTime() + WAIT_AFTER_TICK_MS;
  for (;;) {
    const { rows } = await context.pool.query<TickFigures>(
      `SELECT count(*)::int AS runs,
              count(*) FILTER (WHERE status = 'Completed')::int AS completed,
              count(*) FILTER (WHERE finished_at IS NOT NULL)::int AS final,
              coalesce(sum(records_completed), 0)::int AS records,
              round(extract(epoch FROM min(created_at) - $3)::numeric, 1)::float AS first_started,
              round(extract(epoch FROM max(created_at) - $3)::numeric, 1)::float AS last_started,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - $3))::numeric, 1)::float
                AS median_completed,
              round(extract(epoch FROM max(finished_at) - $3)::numeric, 1)::float AS last_completed,
              round(avg(extract(epoch FROM finished_at - created_at))::numeric, 2)::float AS mean_run
       FROM batch_export_runs WHERE batch_export_id = ANY($1::uuid[]) AND data_interval_end = $2`,
      [ids, tick, tick],
    );
    const figures = rows[0]!;
    if (figures.final >= count || Date.now() > deadline) return figures;
    await sleep(1_000);
  }
}

/** The first multiple of `intervalMs` since the epoch at or after `at` (interval schedules fire on those). */
function nextTick(at: number, intervalMs: number): number {
  return Math.ceil(at / intervalMs) * intervalMs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
