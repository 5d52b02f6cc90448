/** The API's response shapes the console reads (docs: /api/docs). Written out here: the browser imports no server code. */

export type Status =
  | 'Starting'
  | 'Running'
  | 'Completed'
  | 'Failed'
  | 'FailedRetryable'
  | 'FailedBilling'
  | 'Cancelled'
  | 'ContinuedAsNew'
  | 'Terminated'
  | 'TimedOut';

export interface Session {
  organization_id: string;
  user_email: string;
  label: string;
  scopes: string[];
  can_write: boolean;
  projects: Array<{ id: number; name: string }>;
  temporal_ui: { url: string; namespace: string } | null;
}

export interface Run {
  id: string;
  batch_export_id: string;
  status: Status;
  data_interval_start: string | null;
  data_interval_end: string;
  records_completed: number | null;
  bytes_exported: number | null;
  latest_error: string | null;
  attempt: number | null;
  next_attempt_at: string | null;
  backfill_id: string | null;
  workflow_id: string;
  created_at: string;
  finished_at: string | null;
}

export interface BatchExport {
  id: string;
  team_id: number;
  name: string;
  model: string;
  destination: { type: string; config: Record<string, unknown> };
  interval: string;
  paused: boolean;
  last_paused_at: string | null;
  paused_by: string | null;
  timezone: string;
  offset_day: number | null;
  offset_hour: number | null;
  start_at: string | null;
  end_at: string | null;
  hogql_query: string | null;
  filters: Array<Record<string, unknown>> | null;
  created_at: string;
  latest_runs: Run[];
  freshness: { exported_until: string | null; lag_seconds: number | null };
}

export interface Backfill {
  id: string;
  batch_export_id: string;
  start_at: string | null;
  end_at: string | null;
  status: Status;
  created_at: string;
  finished_at: string | null;
  total_records_count: number | null;
  latest_error: string | null;
  workflow_id: string | null;
  progress: { total_runs: number | null; finished_runs: number; progress: number | null };
}

export interface BackfillEstimate {
  start_at: string | null;
  end_at: string;
  intervals: number | null;
  records_per_interval: number | null;
  estimated_records: number | null;
  based_on_runs: number;
}

export interface LogEntry {
  timestamp: string;
  level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  message: string;
  run_id: string | null;
  backfill_id: string | null;
}

export interface RunStats {
  since: string;
  results: Array<{ batch_export_id: string; records: number; completed: number; failed: number }>;
}

export interface TestStepResult {
  name: string;
  description: string;
  result: { status: 'Passed' | 'Failed'; message: string | null };
}

/** A 400's body: `attr` names the first bad field, `errors` lists every one. */
export interface ErrorBody {
  type: string;
  code: string;
  detail: string;
  attr: string | null;
  errors?: Array<{ attr: string | null; code: string; detail: string }>;
}
