/** Statuses shared by runs and backfills, spelled as the API returns them (docs/design.md §2). */
export const STATUSES = [
  'Starting',
  'Running',
  'Completed',
  'Failed',
  'FailedRetryable',
  'FailedBilling',
  'Cancelled',
  'ContinuedAsNew',
  'Terminated',
  'TimedOut',
] as const;
export type Status = (typeof STATUSES)[number];

/** Still working. Every other status is final, except ContinuedAsNew (the backfill goes on in a new run). */
export const ACTIVE_STATUSES: readonly Status[] = ['Starting', 'Running'];

export const TERMINAL_STATUSES: readonly Status[] = STATUSES.filter(
  (status) => !ACTIVE_STATUSES.includes(status) && status !== 'ContinuedAsNew',
);
