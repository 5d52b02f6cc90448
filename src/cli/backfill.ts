import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import type { ApiClient } from './api-client';
import {
  addApiOptions,
  apiClient,
  isUuidText,
  resolveExport,
  timeOption,
  UsageError,
  type ApiOptions,
} from './context';
import { table, time } from './format';
import type { Backfill, BackfillWorkflowRun, Page } from './resources';

/** A backfill in one of these is still going (ContinuedAsNew: in its next workflow run); every other status is final. */
const GOING = new Set(['Starting', 'Running', 'ContinuedAsNew']);
const POLL_MS = 1000;

interface BackfillOptions extends ApiOptions {
  start?: string;
  end?: string;
  id?: string;
  follow?: boolean;
  skipExported?: boolean;
}

/** `backfill <export> --start --end [--follow]`, and `backfill <export> --id <backfill>` for one already made. */
export function backfillCommand(): Command {
  return addApiOptions(
    new Command('backfill')
      .description("Backfill an export's intervals in [start, end), or show a backfill and its workflow runs (--id)")
      .argument('<export>', 'id or name of the export')
      .option(
        '--start <time>',
        'where the backfill starts (2026-11-30T00:00:00Z; a date for day and week exports)',
        timeOption,
      )
      .option('--end <time>', 'where it ends, not in the future', timeOption)
      .option('--id <backfill>', 'an existing backfill: show it (with --follow: follow it)')
      .option('--follow', 'show a progress bar until the backfill ends; exit 1 unless it Completed')
      .option(
        '--skip-exported',
        'leave intervals an earlier run completed as they are (by default every interval is exported again)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  npm run cli -- backfill "events to s3" --start 2026-11-01T00:00:00Z --end 2026-11-02T00:00:00Z --follow\n' +
          '  npm run cli -- backfill <export id> --id <backfill id>',
      ),
  ).action(async (reference: string, options: BackfillOptions) => {
    const api = apiClient(options);
    const found = await resolveExport(api, reference);
    let id = options.id;
    if (id) {
      if (!isUuidText(id)) throw new UsageError(`--id takes a backfill's id (a UUID), not "${id}"`);
    } else {
      if (!options.end) throw new UsageError('--end is required to start a backfill (or --id to show one)');
      const body = {
        ...(options.start ? { start_at: options.start } : {}),
        end_at: options.end,
        ...(options.skipExported ? { skip_exported: true } : {}),
      };
      ({ backfill_id: id } = await api.project<{ backfill_id: string }>(
        'POST',
        `/batch_exports/${found.id}/backfills`,
        body,
      ));
      console.log(`Started backfill ${id} of export ${found.id} (${found.name})`);
    }
    const path = `/batch_exports/${found.id}/backfills/${id}`;
    if (options.follow) {
      const final = await follow(api, path);
      console.log(finalLine(final));
      if (final.status !== 'Completed') process.exitCode = 1;
    } else if (options.id) {
      console.log(await describe(api, path));
    }
  });
}

/**
 * Polls the backfill until it ends, drawing intervals done / total, rows, rate and ETA on a TTY (stderr). The bar
 * starts once the backfill knows how many intervals it has. While it runs, rows is the backfill's estimate of the
 * rows of its range; the final line has the rows exported.
 */
async function follow(api: ApiClient, path: string): Promise<Backfill> {
  const started = Date.now();
  const bar = new SingleBar({
    format: 'Backfill [{bar}] {value}/{total} intervals | ~{rows} rows | {rate} rows/s | ETA {eta_formatted}',
    etaBuffer: 20,
    hideCursor: true,
  });
  let drawing = false;
  try {
    for (;;) {
      const backfill = await api.project<Backfill>('GET', path);
      const { total_runs: total, finished_runs: finished } = backfill.progress;
      if (total) {
        const rows = backfill.total_records_count ?? 0;
        const rate = Math.round((rows * (finished / total)) / Math.max((Date.now() - started) / 1000, 0.001));
        if (!drawing) bar.start(total, finished, { rows, rate });
        drawing = true;
        bar.setTotal(total);
        bar.update(finished, { rows, rate });
      }
      if (!GOING.has(backfill.status)) return backfill;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    if (drawing) bar.stop();
  }
}

/** One line saying how it ended; a failure names the first failed interval and why it failed. */
function finalLine(backfill: Backfill): string {
  const { finished_runs: finished, total_runs: total } = backfill.progress;
  const summary = `Backfill ${backfill.id} ${backfill.status}: ${finished} of ${total ?? '?'} intervals, ${backfill.total_records_count ?? 0} rows`;
  const [first] = backfill.failed_intervals;
  if (first) {
    const count = backfill.failed_intervals.length;
    const interval = `${time(first.data_interval_start)} to ${time(first.data_interval_end)}`;
    return `${summary}; ${count} interval${count === 1 ? '' : 's'} failed, the first (${interval}): ${first.error ?? 'no error recorded'}`;
  }
  return backfill.latest_error ? `${summary}: ${backfill.latest_error}` : summary;
}

/** The backfill, then a table of its Temporal workflow runs (it continues as new every so many intervals). */
async function describe(api: ApiClient, path: string): Promise<string> {
  const backfill = await api.project<Backfill>('GET', path);
  const runs: BackfillWorkflowRun[] = [];
  for (let next: string | null = `${path}/workflow_runs?limit=500`; next;) {
    const page: Page<BackfillWorkflowRun> =
      next.startsWith('/api/') || next.startsWith('http')
        ? await api.request('GET', next)
        : await api.project('GET', next);
    runs.push(...page.results);
    next = page.next;
  }
  return [
    `Backfill:      ${backfill.id} (export ${backfill.batch_export_id})`,
    `Status:        ${backfill.status}${backfill.latest_error ? `: ${backfill.latest_error}` : ''}`,
    `Range:         ${time(backfill.start_at)} to ${time(backfill.end_at)}`,
    `Progress:      ${backfill.progress.finished_runs} of ${backfill.progress.total_runs ?? '?'} intervals finished`,
    `Workflow id:   ${backfill.workflow_id ?? '-'} (${backfill.workflow_runs_count} workflow runs)`,
    '',
    table(
      ['workflow run id', 'status', 'started at', 'finished at', 'intervals', 'completed', 'failed', 'skipped'],
      runs.map((run) => [
        run.workflow_run_id,
        run.status,
        // Exact, as the API gives them: a workflow run may last less than a second.
        run.started_at ?? '-',
        run.finished_at ?? '-',
        `${run.data_interval_start ?? '-'} to ${run.data_interval_end ?? '-'}`,
        run.runs_completed,
        run.runs_failed,
        run.runs_skipped,
      ]),
    ),
  ].join('\n');
}
