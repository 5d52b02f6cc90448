import type { Pool } from 'pg';
import { getBatchExport, type BatchExportRecord } from '../db/batch-exports';
import type { BackfillRecord } from '../db/backfills';
import type { RunRecord } from '../db/runs';
import type { EventExport, NotificationEvent } from './events';

/** The export as events name it, and its team. */
function eventExport(record: BatchExportRecord): { teamId: number; batchExport: EventExport } {
  return {
    teamId: record.team_id,
    batchExport: { id: record.id, name: record.name, destination_type: record.destination.type, model: record.model },
  };
}

/** The export as events name it; null when it is gone. */
async function exportOf(
  pool: Pool,
  batchExportId: string,
): Promise<{ teamId: number; batchExport: EventExport } | null> {
  const record = await getBatchExport(pool, batchExportId);
  return record ? eventExport(record) : null;
}

/** A run that failed for good (its retries used up, or an error retrying cannot fix). */
export async function runFailedEvent(pool: Pool, run: RunRecord): Promise<NotificationEvent | null> {
  const found = await exportOf(pool, run.batch_export_id);
  if (!found) return null;
  const interval = { start: run.data_interval_start?.toISOString() ?? null, end: run.data_interval_end.toISOString() };
  return {
    ...found,
    id: `run.failed:${run.id}`,
    event: 'run.failed',
    runId: run.id,
    interval,
    error: run.latest_error,
    summary: `the run for ${interval.start ?? 'the start'} to ${interval.end} failed`,
  };
}

/** An export the system paused after consecutive failed runs. */
export async function autoPausedEvent(pool: Pool, batchExportId: string): Promise<NotificationEvent | null> {
  const record = await getBatchExport(pool, batchExportId);
  if (!record) return null;
  return {
    ...eventExport(record),
    id: `batch_export.paused:${batchExportId}:${record.last_paused_at?.toISOString() ?? ''}`,
    event: 'batch_export.paused',
    summary: 'paused after consecutive failed runs; unpause it once the cause is fixed',
  };
}

/** A backfill that reached Completed or Failed. */
export async function backfillFinishedEvent(pool: Pool, backfill: BackfillRecord): Promise<NotificationEvent | null> {
  if (backfill.status !== 'Completed' && backfill.status !== 'Failed') return null;
  const found = await exportOf(pool, backfill.batch_export_id);
  if (!found) return null;
  const completed = backfill.status === 'Completed';
  const interval = { start: backfill.start_at?.toISOString() ?? null, end: backfill.end_at?.toISOString() ?? '' };
  return {
    ...found,
    id: `backfill.${completed ? 'completed' : 'failed'}:${backfill.id}`,
    event: completed ? 'backfill.completed' : 'backfill.failed',
    backfillId: backfill.id,
    interval,
    error: backfill.latest_error,
    summary: `the backfill from ${interval.start ?? 'the earliest data'} to ${interval.end} ${completed ? 'completed' : 'failed'} (${backfill.total_records_count ?? 0} records exported)`,
  };
}

/** An export whose freshness lag went above its threshold (`late`), or back under it. */
export async function latenessEvent(
  pool: Pool,
  change: { batchExportId: string; late: boolean; at: Date; lagSeconds: number | null; thresholdSeconds: number },
): Promise<NotificationEvent | null> {
  const found = await exportOf(pool, change.batchExportId);
  if (!found) return null;
  const lag = change.lagSeconds === null ? 'nothing exported yet' : `${change.lagSeconds} s behind`;
  return {
    ...found,
    id: `batch_export.${change.late ? 'late' : 'recovered'}:${change.batchExportId}:${change.at.toISOString()}`,
    event: change.late ? 'batch_export.late' : 'batch_export.recovered',
    summary: change.late
      ? `late: ${lag}, over its threshold of ${change.thresholdSeconds} s`
      : `caught up: ${lag}, within its threshold of ${change.thresholdSeconds} s`,
  };
}
