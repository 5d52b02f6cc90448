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
