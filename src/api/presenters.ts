import type { z } from 'zod';
import type { Pool } from 'pg';
import type { BatchExportRecord } from '../db/batch-exports';
import type { LogRecord } from '../db/logs';
import { freshnessOf, latestRuns, type Freshness, type RunReceipt, type RunRecord } from '../db/runs';
import { DESTINATIONS, isSupportedDestination } from '../destinations';
import type {
  BatchExportResponse,
  FreshnessResponse,
  LogEntryResponse,
  RunReceiptResponse,
  RunResponse,
} from './schemas';

/** Records as the API returns them. Destination secrets never get this far; they are stripped again regardless. */

/** How many runs `latest_runs` shows. */
const LATEST_RUNS = 10;

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

export function presentRun(run: RunRecord): z.output<typeof RunResponse> {
  return {
    id: run.id,
    batch_export_id: run.batch_export_id,
    status: run.status,
    data_interval_start: isoOrNull(run.data_interval_start),
    data_interval_end: iso(run.data_interval_end),
    records_completed: run.records_completed,
    records_failed: run.records_failed,
    records_total_count: run.records_total_count,
    bytes_exported: run.bytes_exported,
    latest_error: run.latest_error,
    attempt: run.attempt,
    next_attempt_at: isoOrNull(run.next_attempt_at),
    receipt: run.receipt ? presentReceipt(run.receipt) : null,
    backfill_id: run.backfill_id,
    workflow_id: run.workflow_id,
    created_at: iso(run.created_at),
    finished_at: isoOrNull(run.finished_at),
    last_updated_at: iso(run.last_updated_at),
  };
}

function presentReceipt(receipt: RunReceipt): z.output<typeof RunReceiptResponse> {
  return {
    source_records: receipt.sourceRecords,
    records_written: receipt.recordsWritten,
    bytes: receipt.bytes,
    destination_records: receipt.destinationRecords ?? null,
    manifest_key: receipt.manifestKey ?? null,
    files: receipt.files,
  };
}

function presentFreshness(freshness: Freshness | undefined, now: Date): z.output<typeof FreshnessResponse> {
  const until = freshness?.exported_until ?? null;
  return {
    exported_until: isoOrNull(until),
    lag_seconds: until ? Math.max(0, Math.round((now.getTime() - until.getTime()) / 1000)) : null,
  };
}

/** Exports with their latest runs and freshness, fetched in one query each for the whole page. */
export async function presentBatchExports(
  pool: Pool,
  records: BatchExportRecord[],
): Promise<Array<z.output<typeof BatchExportResponse>>> {
  const ids = records.map((record) => record.id);
  const runs = await latestRuns(pool, ids, LATEST_RUNS);
  const freshness = await freshnessOf(pool, ids);
  const now = new Date();
  return records.map((record) =>
    presentBatchExport(
      record,
      runs.filter((run) => run.batch_export_id === record.id),
      presentFreshness(
        freshness.find((entry) => entry.batch_export_id === record.id),
        now,
      ),
    ),
  );
}

export async function presentOne(pool: Pool, record: BatchExportRecord) {
  return (await presentBatchExports(pool, [record]))[0]!;
}

function presentBatchExport(
  record: BatchExportRecord,
  runs: RunRecord[],
  freshness: z.output<typeof FreshnessResponse>,
): z.output<typeof BatchExportResponse> {
  return {
    id: record.id,
    team_id: record.team_id,
    name: record.name,
    model: record.model,
    destination: { type: record.destination.type, config: withoutSecrets(record.destination) },
    interval: record.interval,
    paused: record.paused,
    last_paused_at: isoOrNull(record.last_paused_at),
    paused_by: record.paused_by,
    start_at: isoOrNull(record.start_at),
    end_at: isoOrNull(record.end_at),
    hogql_query: record.hogql_query,
    filters: record.filters,
    timezone: record.timezone,
    offset_day: record.offset_day,
    offset_hour: record.offset_hour,
    created_at: iso(record.created_at),
    last_updated_at: iso(record.last_updated_at),
    latest_runs: runs.map(presentRun),
    freshness,
  };
}

function withoutSecrets(destination: BatchExportRecord['destination']): Record<string, unknown> {
  const secretFields: readonly string[] = isSupportedDestination(destination.type)
    ? DESTINATIONS[destination.type].secretFields
    : [];
  return Object.fromEntries(Object.entries(destination.config).filter(([field]) => !secretFields.includes(field)));
}

export function presentLog(entry: LogRecord): z.output<typeof LogEntryResponse> {
  return {
    team_id: entry.team_id,
    batch_export_id: entry.batch_export_id,
    instance_id: entry.run_id ?? entry.backfill_id,
    run_id: entry.run_id,
    backfill_id: entry.backfill_id,
    timestamp: iso(entry.timestamp),
    level: entry.level,
    message: entry.message,
  };
}
