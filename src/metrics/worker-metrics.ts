import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Pool } from 'pg';
import { getBatchExport } from '../db/batch-exports';
import type { RunRecord } from '../db/runs';
import type { ErrorKind } from '../errors';

/**
 * What the worker process counts, served on WORKER_METRICS_PORT. One registry per process: activities record into
 * it through the functions below, so a hook in an activity is one call. Labels are bounded: destination type,
 * model, status and error kind take a handful of values each; run and export ids are never labels here.
 */
export const workerRegistry = new Registry();
collectDefaultMetrics({ register: workerRegistry });

const exportLabels = ['destination', 'model'] as const;

const runsFinished = new Counter({
  name: 'batch_exports_runs_finished_total',
  help: 'Runs that reached a final status, by status, destination type and model.',
  labelNames: ['status', ...exportLabels],
  registers: [workerRegistry],
});

const rowsExported = new Counter({
  name: 'batch_exports_rows_exported_total',
  help: 'Rows written to destinations by completed runs.',
  labelNames: exportLabels,
  registers: [workerRegistry],
});

const bytesExported = new Counter({
  name: 'batch_exports_bytes_exported_total',
  help: 'Bytes written to destinations by completed runs (after compression, for S3).',
  labelNames: exportLabels,
  registers: [workerRegistry],
});

const runDuration = new Histogram({
  name: 'batch_exports_run_duration_seconds',
  help: 'From a run being recorded to its final status, retries included.',
  labelNames: ['status', ...exportLabels],
  // From a few seconds (a small interval) to hours (a day of events retried with backoff).
  buckets: [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600],
  registers: [workerRegistry],
});

const rowsPerSecond = new Histogram({
  name: 'batch_exports_run_rows_per_second',
  help: 'Rows a completed run wrote per second of its duration.',
  labelNames: exportLabels,
  // docs/notes/issue-6-bench.md: tens of thousands of rows/s for S3 at best; small intervals are far below.
  buckets: [1, 10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000],
  registers: [workerRegistry],
});

const failedAttempts = new Counter({
  name: 'batch_exports_failed_attempts_total',
  help: 'Insert attempts that failed, by error kind (retried or not).',
  labelNames: ['kind'],
  registers: [workerRegistry],
});

export interface FinishedRun {
  batchExportId: string;
  status: string;
  recordsCompleted: number | null;
  bytesExported: number | null;
}

/**
 * Counts a run that just reached its final status. Best effort: a metrics problem never fails the run's bookkeeping.
 */
export async function recordRunFinished(pool: Pool, input: FinishedRun, run: RunRecord): Promise<void> {
  try {
    const labels = await labelsOf(pool, input.batchExportId);
    runsFinished.inc({ status: input.status, ...labels });
    const seconds = Math.max(0, ((run.finished_at ?? new Date()).getTime() - run.created_at.getTime()) / 1000);
    runDuration.observe({ status: input.status, ...labels }, seconds);
    if (input.status !== 'Completed') return;
    const rows = input.recordsCompleted ?? 0;
    rowsExported.inc(labels, rows);
    bytesExported.inc(labels, input.bytesExported ?? 0);
    if (seconds > 0) rowsPerSecond.observe(labels, rows / seconds);
  } catch {
    // The metadata database just answered finishRun; a failure here costs one sample, nothing else.
  }
}

/**
 * The labels of an export's runs, kept for a minute: a backfill finishes tens of runs of one export a second, and
 * looking the export up for each was one query per run (docs/notes/issue-19-session-h.md). A minute bounds how long
 * a changed model keeps its old label.
 */
const labelCache = new Map<string, { labels: { destination: string; model: string }; until: number }>();
const LABELS_KEPT_MS = 60_000;
const MAX_LABELS_KEPT = 1_000;

async function labelsOf(pool: Pool, batchExportId: string): Promise<{ destination: string; model: string }> {
  const kept = labelCache.get(batchExportId);
  if (kept && kept.until > Date.now()) return kept.labels;
  const batchExport = await getBatchExport(pool, batchExportId);
  const labels = { destination: batchExport?.destination.type ?? 'unknown', model: batchExport?.model ?? 'unknown' };
  if (labelCache.size >= MAX_LABELS_KEPT) labelCache.clear();
  labelCache.set(batchExportId, { labels, until: Date.now() + LABELS_KEPT_MS });
  return labels;
}

/** Counts one failed insert attempt. */
export function recordFailedAttempt(kind: ErrorKind): void {
  failedAttempts.inc({ kind });
}
