/** The input of every destination's export workflow: one interval of one batch export. */
export interface BatchExportWorkflowInput {
  batchExportId: string;
  teamId: number;
  interval: string;
  timezone: string;
  /**
   * ISO 8601 end of the interval, set by backfills and manual runs. Scheduled runs leave it out: the workflow takes
   * the schedule's nominal time (TemporalScheduledStartTime) instead, never the wall clock.
   */
  dataIntervalEnd?: string;
  backfillId?: string | null;
  /** How the destination's insert activity is retried; the defaults suit production, tests shorten them. */
  insertActivity?: InsertActivitySettings;
}

export interface InsertActivitySettings {
  /** First retry delay; later ones grow by `backoffCoefficient` up to `maximumIntervalSeconds`. */
  initialIntervalSeconds?: number;
  backoffCoefficient?: number;
  maximumIntervalSeconds?: number;
  /** Attempts in all, the first included. */
  maximumAttempts?: number;
  /** How long without a heartbeat before the attempt is taken for dead (its worker crashed) and retried. */
  heartbeatTimeoutSeconds?: number;
}

export interface BatchExportWorkflowResult {
  runId: string;
  status: 'Completed' | 'Failed' | 'FailedRetryable' | 'Cancelled';
  recordsCompleted: number;
  bytesExported: number;
  latestError: string | null;
}

/** The input of a destination's insert activity. */
export interface InsertActivityInput {
  batchExportId: string;
  teamId: number;
  runId: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
}

export interface InsertActivityResult {
  recordsCompleted: number;
  bytesExported: number;
}
