import type { SearchAttributePair } from '@temporalio/common';
import type { ScheduleShape } from '../backfills/intervals';
import type { RunReceipt } from '../db/runs';

/**
 * The workflow type schedules and backfills start for every destination (workflows/index.ts registers it). Schedules
 * created before it start the per-destination types `s3-export`, `postgres-export` and `noop-export`, still
 * registered.
 */
export const EXPORT_WORKFLOW_TYPE = 'batch-export';

/** The input of the export workflow: one interval of one batch export. */
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
  /**
   * How this activity is retried, so that a failed attempt can tell the user when the next one starts. Absent in
   * runs started before it was passed.
   */
  retryPolicy?: InsertRetryPolicy;
  /**
   * Replace what an earlier export of the interval left in the destination (backfills, retries and manual runs):
   * S3 deletes the interval's files this export did not write, Postgres replaces events by uuid. Scheduled runs
   * export an interval for the first time.
   */
  replace?: boolean;
  /**
   * Attempts made before the insert activity's first: 1 after a failed local insert (insertSmallIntervalLocally),
   * so that the activity's attempts are numbered, logged and resumed as attempts 2, 3, ... of the run.
   */
  attemptsBefore?: number;
}

/**
 * What the local insert of a small interval did: inserted it, or left it to the insert activity, and why (local
 * inserts off on this worker, every insert slot busy, a destination that cannot rewrite an interval whole, or more
 * rows than a local insert takes).
 */
export type LocalInsertOutcome =
  { inserted: InsertActivityResult } | { deferred: 'disabled' | 'busy' | 'destination' | 'rows' };

/** The insert activity's retry policy, in milliseconds. */
export interface InsertRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

/**
 * The retry policy of attempts `made + 1`, `made + 2`, ... of `policy`: what the insert activity gets after a failed
 * local insert, so that the run's attempts keep the backoffs and the number the policy gives them
 * (`maximumAttempts` 0: unlimited). Pure: workflow code uses it.
 */
export function shiftedRetryPolicy(policy: InsertRetryPolicy, made: number): InsertRetryPolicy {
  if (made === 0) return policy;
  return {
    ...policy,
    initialIntervalMs: Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** made, policy.maximumIntervalMs),
    maximumAttempts: policy.maximumAttempts === 0 ? 0 : Math.max(1, policy.maximumAttempts - made),
  };
}

export interface InsertActivityResult {
  recordsCompleted: number;
  bytesExported: number;
  /** The interval's completeness receipt; absent from destinations that write nothing (NoOp). */
  receipt?: RunReceipt;
}

/**
 * The schedule a backfill follows: the export's ScheduleShape (src/backfills/intervals.ts) as it was when the backfill
 * was created, one shape from the API to the activities. Its bounds are ISO 8601 strings here, which is how a Date
 * crosses Temporal's JSON; scheduleShape() turns them back. Backfills started before carry LegacyBackfillSchedule.
 */
export type BackfillSchedule = CarriedScheduleShape | LegacyBackfillSchedule;

export interface CarriedScheduleShape extends Omit<ScheduleShape, 'start_at' | 'end_at'> {
  start_at: string | null;
  end_at: string | null;
}

/** The camelCase schedule of backfills started before CarriedScheduleShape; their inputs still hold it. */
export interface LegacyBackfillSchedule {
  interval: string;
  timezone: string;
  offsetHour: number | null;
  offsetDay: number | null;
  startAt: string | null;
  endAt: string | null;
}

/** The shape a backfill carries for an export's schedule. */
export function carriedSchedule(shape: ScheduleShape): CarriedScheduleShape {
  return {
    interval: shape.interval,
    timezone: shape.timezone,
    offset_hour: shape.offset_hour,
    offset_day: shape.offset_day,
    start_at: shape.start_at?.toISOString() ?? null,
    end_at: shape.end_at?.toISOString() ?? null,
  };
}

/** The ScheduleShape of what a backfill carries, in either form. */
export function scheduleShape(schedule: BackfillSchedule): ScheduleShape {
  const carried: CarriedScheduleShape =
    'offsetHour' in schedule
      ? {
          interval: schedule.interval,
          timezone: schedule.timezone,
          offset_hour: schedule.offsetHour,
          offset_day: schedule.offsetDay,
          start_at: schedule.startAt,
          end_at: schedule.endAt,
        }
      : schedule;
  const date = (value: string | null) => (value ? new Date(value) : null);
  return { ...carried, start_at: date(carried.start_at), end_at: date(carried.end_at) };
}

/** A backfill's estimate that misses heartbeats this long is taken for dead (its worker died) and retried. */
export const BACKFILL_ESTIMATE_HEARTBEAT_TIMEOUT_SECONDS = 30;

/** Where a backfill is, carried from one workflow run to the next by continue-as-new. */
export interface BackfillProgress {
  /** ISO 8601: the intervals ending after this one are still to run. */
  after: string;
  /** Intervals not run because a run of the same interval already exported them (or was exporting them). */
  skippedRuns: number;
  failedRuns: number;
}

export interface BackfillWorkflowInput {
  backfillId: string;
  batchExportId: string;
  teamId: number;
  schedule: BackfillSchedule;
  /** ISO 8601; null = from the export's earliest data. */
  startAt: string | null;
  endAt: string;
  /** The destination's export workflow type, started once per interval. */
  exportWorkflowType: string;
  /** Intervals exported at the same time. */
  maxParallelRuns: number;
  /** Intervals one workflow run starts before continuing as new. */
  intervalsPerWorkflowRun: number;
  /** Export intervals again even when a run already completed them (a run retry); otherwise they are skipped. */
  reexportCompleted: boolean;
  /** Set by continue-as-new; absent on the first run. */
  progress?: BackfillProgress;
  /** The Temporal UI search attributes of each interval's run; absent when the cluster lacks them. */
  childSearchAttributes?: SearchAttributePair[];
}

export interface BackfillWorkflowResult {
  status: 'Completed' | 'Failed' | 'Cancelled';
  skippedRuns: number;
  failedRuns: number;
}
