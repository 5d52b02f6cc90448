import { parseBackfillRange } from '../backfills/request';
import { countScheduledIntervals } from '../backfills/intervals';
import type { BatchExportRecord } from '../db/batch-exports';
import { recentRecordsPerRun } from '../db/run-stats';
import type { BackfillDependencies } from './backfills';

export interface BackfillEstimate {
  startAt: Date | null;
  endAt: Date;
  /** Intervals the backfill would run; null when it starts from the earliest data (not known before it looks). */
  intervals: number | null;
  /** The mean rows per run of the export's latest completed runs; null before any. */
  recordsPerInterval: number | null;
  estimatedRecords: number | null;
  /** How many completed runs the mean is over. */
  basedOnRuns: number;
}

/**
 * What a backfill of `body` would do, before it starts (the web console shows it under the range picker): the same
 * checks as creating it (a bad range is the same 400), the exact interval count, and rows estimated from the
 * export's recent runs. Nothing is stored or started.
 */
export async function estimateBackfill(
  deps: Pick<BackfillDependencies, 'pool' | 'config'>,
  batchExport: BatchExportRecord,
  body: unknown,
  now: Date = new Date(),
): Promise<BackfillEstimate> {
  const { startAt, endAt } = parseBackfillRange(batchExport, body, now, deps.config.backfills.maxIntervals);
  // parseBackfillRange bounded the range by BACKFILL_MAX_INTERVALS, so counting exactly is bounded work.
  const intervals = startAt ? countScheduledIntervals(batchExport, startAt, endAt) : null;
  const { mean, runs } = await recentRecordsPerRun(deps.pool, batchExport.id);
  return {
    startAt,
    endAt,
    intervals,
    recordsPerInterval: mean === null ? null : Math.round(mean),
    estimatedRecords: mean === null || intervals === null ? null : Math.round(mean * intervals),
    basedOnRuns: runs,
  };
}
