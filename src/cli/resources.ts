/** What the CLI reads from the API: the fields it shows, as the API's responses name them (docs/api-reference.md). */

export interface BatchExport {
  id: string;
  name: string;
  model: string | null;
  interval: string;
  paused: boolean;
  destination: { type: string; config: Record<string, unknown> };
  created_at: string;
  last_updated_at: string;
  latest_runs?: Run[];
}

export interface Run {
  id: string;
  status: string;
  data_interval_start: string | null;
  data_interval_end: string;
  records_completed: number | null;
  bytes_exported: number | null;
  latest_error: string | null;
  backfill_id: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface Backfill {
  id: string;
  batch_export_id: string;
  status: string;
  start_at: string | null;
  end_at: string | null;
  total_records_count: number | null;
  latest_error: string | null;
  workflow_id: string | null;
  workflow_runs_count: number;
  progress: { total_runs: number | null; finished_runs: number; progress: number | null };
  failed_intervals: { data_interval_start: string | null; data_interval_end: string; error: string | null }[];
}

export interface BackfillWorkflowRun {
  workflow_run_id: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  data_interval_start: string | null;
  data_interval_end: string | null;
  runs_completed: number;
  runs_failed: number;
  runs_skipped: number;
}

export interface LogEntry {
  timestamp: string;
  level: string;
  message: string;
  run_id: string | null;
  backfill_id: string | null;
}

export interface Page<T> {
  next: string | null;
  results: T[];
}
