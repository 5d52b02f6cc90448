import type { z } from 'zod';
import type { BackfillRecord } from '../db/backfills';
import type { BackfillResponse } from './backfill-schemas';

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

/** A backfill as the API returns it. */
export function presentBackfill(backfill: BackfillRecord): z.output<typeof BackfillResponse> {
  const total = backfill.total_runs;
  const finished = Math.min(backfill.finished_runs, total ?? Infinity);
  return {
    id: backfill.id,
    team_id: backfill.team_id,
    batch_export_id: backfill.batch_export_id,
    start_at: isoOrNull(backfill.start_at),
    end_at: isoOrNull(backfill.end_at),
    status: backfill.status,
    created_at: iso(backfill.created_at),
    finished_at: isoOrNull(backfill.finished_at),
    last_updated_at: iso(backfill.last_updated_at),
    total_records_count: backfill.total_records_count,
    adjusted_start_at: isoOrNull(backfill.adjusted_start_at),
    workflow_id: backfill.workflow_id,
    workflow_runs_count: backfill.workflow_runs_count,
    current_workflow_run_id: backfill.current_workflow_run_id,
    latest_error: backfill.latest_error,
    // Stored as Postgres wrote them into JSON (+00:00); returned like every other timestamp of the API.
    failed_intervals: backfill.failed_intervals.map((interval) => ({
      data_interval_start: interval.data_interval_start ? iso(new Date(interval.data_interval_start)) : null,
      data_interval_end: iso(new Date(interval.data_interval_end)),
      error: interval.error,
    })),
    progress: {
      total_runs: total,
      finished_runs: finished,
      // A backfill with nothing to run is done as soon as it knows it.
      progress: total === null ? null : total === 0 ? 1 : finished / total,
    },
  };
}
