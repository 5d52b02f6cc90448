import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  type ActivityOptions,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { dataIntervalStart } from '../src/intervals';
import type { Activities } from '../activities';
import {
  shiftedRetryPolicy,
  type BatchExportWorkflowInput,
  type BatchExportWorkflowResult,
  type InsertActivityInput,
  type InsertActivityResult,
  type InsertRetryPolicy,
  type LocalInsertOutcome,
} from '../src/temporal/contracts';
import type { RunReceipt } from '../src/db/runs';

const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

const BOOKKEEPING_OPTIONS = {
  startToCloseTimeout: '1 minute',
  // Bookkeeping must survive a metadata database restart; these activities are idempotent.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
} as const;

/**
 * Recording the run's start and outcome runs as local activities: inside the workflow task that needs it, on the
 * worker that runs the workflow, instead of as activity tasks dispatched by Temporal. A run then costs two workflow
 * tasks and one activity task instead of four and three: less Temporal server CPU and less latency per run, which
 * is what bounds backfills and many schedules of small intervals (docs/notes/issue-6-bench-backfill-schedules.md).
 * Runs started before this change replay their recorded (normal) activities: the patch marker tells which kind a
 * history holds.
 */
const LOCAL_BOOKKEEPING_PATCH = 'run-bookkeeping-as-local-activities';
const localBookkeeping = proxyLocalActivities<Activities>(BOOKKEEPING_OPTIONS);
const remoteBookkeeping = proxyActivities<Activities>(BOOKKEEPING_OPTIONS);

/** Retries of the insert activity, for transient errors only: the activity marks the others non-retryable. */
export const INSERT_RETRY_POLICY: InsertRetryPolicy = {
  initialIntervalMs: 10_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 5 * 60_000,
  maximumAttempts: 8,
};

/** A dead worker is noticed after this long without a heartbeat; its attempt is then retried elsewhere. */
const INSERT_HEARTBEAT_TIMEOUT_SECONDS = 120;

/** The insert activity's retry policy: production defaults, overridden by the workflow input. */
export function insertRetryPolicy(input: BatchExportWorkflowInput): InsertRetryPolicy {
  const settings = input.insertActivity ?? {};
  const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);
  return {
    initialIntervalMs: ms(settings.initialIntervalSeconds) ?? INSERT_RETRY_POLICY.initialIntervalMs,
    backoffCoefficient: settings.backoffCoefficient ?? INSERT_RETRY_POLICY.backoffCoefficient,
    maximumIntervalMs: ms(settings.maximumIntervalSeconds) ?? INSERT_RETRY_POLICY.maximumIntervalMs,
    maximumAttempts: settings.maximumAttempts ?? INSERT_RETRY_POLICY.maximumAttempts,
  };
}

/**
 * The options of a destination's insert activity: production defaults, overridden by the workflow input. After
 * `attemptsBefore` attempts made elsewhere (a failed local insert), the retry policy goes on from where they left
 * it: fewer attempts, and backoffs as the run's later attempts would have had them.
 */
export function insertActivityOptions(input: BatchExportWorkflowInput, attemptsBefore = 0): ActivityOptions {
  const settings = input.insertActivity ?? {};
  const retry = shiftedRetryPolicy(insertRetryPolicy(input), attemptsBefore);
  return {
    // An interval may hold many millions of rows; the heartbeat timeout, not this, detects a dead worker.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: (settings.heartbeatTimeoutSeconds ?? INSERT_HEARTBEAT_TIMEOUT_SECONDS) * 1000,
    // A cancelled run is recorded once the attempt has stopped and cleaned up, not while it may still write.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      maximumAttempts: retry.maximumAttempts,
    },
  };
}

/**
 * Small intervals are inserted by a local activity first (activities/insert.ts, insertSmallIntervalLocally): one
 * workflow task and no activity task per run instead of two and one, which is what bounds backfills and schedules
 * of many small intervals (docs/notes/issue-19-session-j.md). Runs started before it replay their recorded insert
 * activity: the patch marker tells which kind a history holds.
 */
const LOCAL_INSERT_PATCH = 'small-intervals-inserted-locally';

export interface RunExportOptions {
  /**
   * Runs when the insert's retries ran out or it was cancelled, before the run is recorded: e.g. removing what a
   * killed attempt left unfinished. (An attempt failing with a non-retryable error cleans up itself.) Its own
   * failure is logged, not raised: the run's outcome stays the insert's.
   */
  cleanUpAfterFailure?: (input: InsertActivityInput) => Promise<unknown>;
  /** The local insert of a small interval, tried before `insert` (LOCAL_INSERT_PATCH); absent: `insert` only. */
  insertLocally?: (input: InsertActivityInput) => Promise<LocalInsertOutcome>;
}

/** The interval this execution exports: from the input, else from the schedule's nominal start time. */
export function resolveDataInterval(input: BatchExportWorkflowInput): { start: Date; end: Date } {
  let end: Date | undefined;
  if (input.dataIntervalEnd) {
    end = new Date(input.dataIntervalEnd);
  } else {
    end = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  }
  if (!end || Number.isNaN(end.getTime())) {
    throw ApplicationFailure.nonRetryable(
      'No data interval: the workflow was started neither by a schedule nor with dataIntervalEnd',
      'InvalidInput',
    );
  }
  return { start: dataIntervalStart(end, input.interval, input.timezone), end };
}

/**
 * One interval of one export, whatever the destination: record the run, run the destination's insert activity,
 * record the outcome (always, also on failure or cancellation). A failed run fails the workflow too, so the
 * Temporal UI shows it.
 */
export async function runExport(
  input: BatchExportWorkflowInput,
  insert: (input: InsertActivityInput) => Promise<InsertActivityResult>,
  options: RunExportOptions = {},
): Promise<BatchExportWorkflowResult> {
  const { start, end } = resolveDataInterval(input);
  const info = workflowInfo();
  const { startBatchExportRun, finishBatchExportRun } = patched(LOCAL_BOOKKEEPING_PATCH)
    ? localBookkeeping
    : remoteBookkeeping;
  const run = await startBatchExportRun({
    batchExportId: input.batchExportId,
    teamId: input.teamId,
    dataIntervalStart: start.toISOString(),
    dataIntervalEnd: end.toISOString(),
    workflowId: info.workflowId,
    workflowRunId: info.firstExecutionRunId,
    backfillId: input.backfillId ?? null,
    skipIfExported: input.dataIntervalEnd === undefined,
  });
  // A run the schedule started for an interval another run already exported does nothing (see startBatchExportRun).
  if (run.alreadyExported) {
    return { runId: run.id, status: 'Completed', recordsCompleted: 0, bytesExported: 0, latestError: null };
  }

  let result: BatchExportWorkflowResult;
  let failure: unknown;
  const insertInput: InsertActivityInput = {
    batchExportId: input.batchExportId,
    teamId: input.teamId,
    runId: run.id,
    dataIntervalStart: start.toISOString(),
    dataIntervalEnd: end.toISOString(),
    retryPolicy: insertRetryPolicy(input),
    replace: input.dataIntervalEnd !== undefined,
  };
  let receipt: RunReceipt | null = null;
  try {
    const inserted = await insertInterval(insertInput, insert, options.insertLocally);
    receipt = inserted.receipt ?? null;
    const { recordsCompleted, bytesExported } = inserted;
    result = { runId: run.id, status: 'Completed', recordsCompleted, bytesExported, latestError: null };
  } catch (error) {
    failure = error;
    result = {
      runId: run.id,
      status: isCancellation(error) ? 'Cancelled' : isNonRetryable(error) ? 'Failed' : 'FailedRetryable',
      recordsCompleted: 0,
      bytesExported: 0,
      latestError: rootMessage(error),
    };
  }

  const cleanUp = options.cleanUpAfterFailure;
  if (cleanUp && (result.status === 'FailedRetryable' || result.status === 'Cancelled')) {
    await CancellationScope.nonCancellable(() =>
      cleanUp(insertInput).catch((error: unknown) =>
        log.warn('Clean-up after a failed run failed', { error: rootMessage(error) }),
      ),
    );
  }
  // Non-cancellable: a cancelled run still records that it was cancelled.
  await CancellationScope.nonCancellable(() =>
    finishBatchExportRun({
      batchExportId: input.batchExportId,
      teamId: input.teamId,
      runId: run.id,
      status: result.status,
      recordsCompleted: result.status === 'Completed' ? result.recordsCompleted : null,
      bytesExported: result.status === 'Completed' ? result.bytesExported : null,
      latestError: result.latestError,
      receipt,
    }),
  );
  if (failure !== undefined) {
    if (isCancellation(failure)) throw failure;
    throw ApplicationFailure.nonRetryable(result.latestError ?? 'Export failed', result.status);
  }
  return result;
}

/**
 * The interval's insert: the local insert first where the workflow has one, then the insert activity when the local
 * insert deferred (as the run's attempt 1) or failed in a way a retry may mend (as attempt 2, after the retry
 * policy's first backoff, as if the activity had retried itself). A cancelled run, a failure no retry mends, or a
 * policy of one attempt ends the run there, as the activity's last attempt would.
 */
async function insertInterval(
  input: InsertActivityInput,
  insert: (input: InsertActivityInput) => Promise<InsertActivityResult>,
  insertLocally: RunExportOptions['insertLocally'],
): Promise<InsertActivityResult> {
  if (!insertLocally || !patched(LOCAL_INSERT_PATCH)) return insert(input);
  let outcome: LocalInsertOutcome;
  try {
    outcome = await insertLocally(input);
  } catch (error) {
    const policy = input.retryPolicy ?? INSERT_RETRY_POLICY;
    if (isCancellation(error) || isNonRetryable(error) || policy.maximumAttempts === 1) throw error;
    await sleep(policy.initialIntervalMs);
    return insert({ ...input, attemptsBefore: 1 });
  }
  return 'inserted' in outcome ? outcome.inserted : insert(input);
}

/** A failure the insert marked non-retryable: an activity's comes wrapped in an ActivityFailure, a local one's not. */
function isNonRetryable(error: unknown): boolean {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && failure.nonRetryable === true;
}

/** The innermost message: what the activity said, not Temporal's "Activity task failed" wrapper. */
function rootMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
