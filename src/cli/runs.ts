import { Command } from 'commander';
import { addApiOptions, apiClient, intOption, resolveExport, type ApiOptions } from './context';
import { bytes, table, time } from './format';
import type { LogEntry, Page, Run } from './resources';

const FOLLOW_POLL_MS = 2000;

/** `runs <export>`: the latest intervals' runs as a table, newest interval first. */
export function runsCommand(): Command {
  return addApiOptions(
    new Command('runs')
      .description("An export's runs as a table, newest interval first")
      .argument('<export>', 'id or name of the export')
      .option('--limit <n>', 'how many runs', intOption, 20)
      .option('--status <status>', 'only runs with this status (Completed, Failed, Running, ...)'),
  ).action(async (reference: string, options: ApiOptions & { limit: number; status?: string }) => {
    const api = apiClient(options);
    const found = await resolveExport(api, reference);
    const query = new URLSearchParams({
      ordering: '-data_interval_end',
      limit: String(options.limit),
      ...(options.status ? { status: options.status } : {}),
    });
    const page = await api.project<Page<Run>>('GET', `/batch_exports/${found.id}/runs?${query}`);
    console.log(
      table(
        ['interval start', 'interval end', 'status', 'rows', 'bytes', 'backfill', 'error'],
        page.results.map((run) => [
          time(run.data_interval_start),
          time(run.data_interval_end),
          run.status,
          run.records_completed,
          bytes(run.bytes_exported),
          run.backfill_id ? 'yes' : '',
          run.latest_error,
        ]),
      ),
    );
  });
}

/** `logs <export> [--follow]`: log entries oldest first; --follow keeps printing new ones. */
export function logsCommand(): Command {
  return addApiOptions(
    new Command('logs')
      .description("An export's log entries (its runs' and backfills'), oldest first")
      .argument('<export>', 'id or name of the export')
      .option('--limit <n>', 'how many of the latest entries', intOption, 50)
      .option('--level <levels>', 'only these levels, comma-separated (ERROR,WARNING)')
      .option('--follow', 'keep printing new entries until Ctrl-C'),
  ).action(async (reference: string, options: ApiOptions & { limit: number; level?: string; follow?: boolean }) => {
    const api = apiClient(options);
    const found = await resolveExport(api, reference);
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const query = new URLSearchParams({
        limit: String(after ? 500 : options.limit),
        ...(options.level ? { level: options.level } : {}),
        ...(after ? { after } : {}),
      });
      const page = await api.project<{ results: LogEntry[] }>('GET', `/batch_exports/${found.id}/logs?${query}`);
      for (const entry of page.results.reverse()) {
        // `after` may include the last entry again (same timestamp): each is printed once.
        const identity = `${entry.timestamp} ${entry.run_id ?? entry.backfill_id} ${entry.message}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
        console.log(`${time(entry.timestamp)}  ${entry.level.padEnd(7)}  ${entry.message}`);
        after = entry.timestamp;
      }
      if (!options.follow) return;
      after ??= new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
  });
}
