import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  rootCause,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { isoSeconds } from '../src/intervals';
import { BACKFILL_ESTIMATE_HEARTBEAT_TIMEOUT_SECONDS } from '../src/temporal/contracts';
import type { Activities } from '../activities';
import type { BackfillRef } from '../activities/backfills';
import { emptyTally, recordHandOver, recordWorkflowRun, type WorkflowRunTally } from './backfill-workflow-run';
import type {
  BackfillProgress,
  BackfillWorkflowInput,
  BackfillWorkflowResult,
  BatchExportWorkflowInput,
  BatchExportWorkflowResult,
} from '../src/temporal/contracts';

const BACKFILL_RETRY = { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 } as const;

/**
 * Planning a page, recording progress, finishing: each takes a few queries and is safe to repeat. The short timeout
 * is how a dead worker is noticed: an attempt on a SIGKILLed worker is retried elsewhere after a minute, instead of
 * stalling the backfill for as long as the timeout allows.
 */
const activities = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: BACKFILL_RETRY });

/**
 * Estimating counts a whole range's rows: minutes on a large team. It heartbeats while it counts, so a dead worker is
 * noticed after the heartbeat timeout instead.
 */
const estimating = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: `${BACKFILL_ESTIMATE_HEARTBEAT_TIMEOUT_SECONDS} seconds`,
  retry: BACKFILL_RETRY,
});

/** Intervals planned per round trip to Postgres; a workflow run plans several pages before continuing as new. */
const PAGE_SIZE = 100;

/**
 * Backfills an export: runs its export workflow once per past interval, oldest first, a bounded number at a time.
 * Each run has the workflow id the schedule gives that interval, so a backfilled and a scheduled run of one interval
 * never both export it. Long ranges continue as new every `intervalsPerWorkflowRun` intervals; the backfill row in
 * Postgres stays one row whose status tells the truth throughout, and each workflow run records itself beside it
 * (Running, then ContinuedAsNew or the backfill's final status). Registered as `backfill-batch-export`.
 */
export async function backfillBatchExportWorkflow(input: BackfillWorkflowInput): Promise<BackfillWorkflowResult> {
  const ref: BackfillRef = { backfillId: input.backfillId, batchExportId: input.batchExportId, teamId: input.teamId };
  const tally = emptyTally();
  let ran: { done: boolean; progress: BackfillProgress };
  try {
    const progress = input.progress ?? (await begin(input, ref));
    if (progress) {
      tally.dataIntervalStart = progress.after;
      await recordWorkflowRun(ref, tally, 'Running');
    }
    ran = progress ? await runIntervals(input, ref, progress, tally) : { done: true, progress: NOTHING_TO_DO };
    if (ran.done) {
      await recordOutcome(ref, ran.progress);
      const failed = ran.progress.failedRuns > 0;
      await recordWorkflowRun(ref, tally, failed ? 'Failed' : 'Completed', failed ? failedMessage(ran.progress) : null);
    } else {
      await recordHandOver(ref, tally);
    }
  } catch (error) {
    const status = isCancellation(error) ? 'Cancelled' : 'Failed';
    const message = status === 'Cancelled' ? 'Cancelled by request' : (rootCause(error) ?? 'The backfill failed');
    await CancellationScope.nonCancellable(() => activities.finishBackfill({ ...ref, status, latestError: message }));
    await recordWorkflowRun(ref, tally, status, message);
    throw error;
  }
  if (!ran.done) return continueAsNew<typeof backfillBatchExportWorkflow>({ ...input, progress: ran.progress });
  if (ran.progress.failedRuns > 0) {
    // Failing the workflow too keeps the Temporal UI in line with the status users see.
    throw ApplicationFailure.nonRetryable(failedMessage(ran.progress), 'BackfillFailed');
  }
  return { status: 'Completed', skippedRuns: ran.progress.skippedRuns, failedRuns: 0 };
}

const NOTHING_TO_DO: BackfillProgress = { after: '', skippedRuns: 0, failedRuns: 0 };

/** Records Starting, then the estimate (which records Running); null when the range holds no data at all. */
async function begin(input: BackfillWorkflowInput, ref: BackfillRef): Promise<BackfillProgress | null> {
  await activities.startBackfill(ref);
  const estimate = await estimating.estimateBackfill({
    ...ref,
    schedule: input.schedule,
    startAt: input.startAt,
    endAt: input.endAt,
  });
  if (!estimate.adjustedStartAt) return null;
  return { after: estimate.adjustedStartAt, skippedRuns: 0, failedRuns: 0 };
}

async function recordOutcome(ref: BackfillRef, progress: BackfillProgress): Promise<void> {
  await activities.finishBackfill({
    ...ref,
    status: progress.failedRuns === 0 ? 'Completed' : 'Failed',
    latestError: progress.failedRuns === 0 ? null : failedMessage(progress),
  });
}

function failedMessage(progress: BackfillProgress): string {
  const intervals = progress.failedRuns === 1 ? '1 interval was' : `${progress.failedRuns} intervals were`;
  return `${intervals} not exported (failed or cancelled); see failed_intervals`;
}

/**
 * Runs up to `intervalsPerWorkflowRun` intervals with at most `maxParallelRuns` at once, and waits for all of them:
 * nothing runs across a continue-as-new. Stops early, failing the backfill, once the export turns out deleted.
 */
async function runIntervals(
  input: BackfillWorkflowInput,
  ref: BackfillRef,
  start: BackfillProgress,
  tally: WorkflowRunTally,
): Promise<{ done: boolean; progress: BackfillProgress }> {
  const progress = { ...start };
  const queue: string[] = [];
  const running = new Set<Promise<void>>();
  let budget = input.intervalsPerWorkflowRun;
  let exhausted = false;
  let exportDeleted = false;

  const runOne = async (end: string): Promise<void> => {
    const outcome = await exportInterval(input, end);
    if (outcome === 'completed') tally.runsCompleted++;
    if (outcome === 'failed') {
      progress.failedRuns++;
      tally.runsFailed++;
      // A run fails at once when its export was deleted: stop rather than fail every remaining interval.
      if (!exportDeleted && !(await activities.batchExportExists(ref))) exportDeleted = true;
    } else if (outcome === 'elsewhere') {
      progress.skippedRuns++;
      tally.runsSkipped++;
      await activities.recordBackfillProgress({
        ...ref,
        skippedRuns: progress.skippedRuns,
        inProgressElsewhere: [end],
      });
    }
  };

  try {
    for (;;) {
      if (queue.length === 0 && !exhausted && budget > 0 && !exportDeleted) {
        const page = await activities.planBackfillIntervals({
          ...ref,
          schedule: input.schedule,
          after: progress.after,
          endAt: input.endAt,
          limit: Math.min(PAGE_SIZE, budget),
          reexportCompleted: input.reexportCompleted,
        });
        queue.push(...page.intervals);
        budget -= page.intervals.length + page.alreadyExported;
        exhausted = page.next === null;
        if (page.next) progress.after = page.next;
        tally.dataIntervalEnd = page.last ?? page.next ?? page.intervals.at(-1) ?? tally.dataIntervalEnd;
        if (page.alreadyExported > 0) {
          progress.skippedRuns += page.alreadyExported;
          tally.runsSkipped += page.alreadyExported;
          await activities.recordBackfillProgress({
            ...ref,
            skippedRuns: progress.skippedRuns,
            inProgressElsewhere: [],
            alreadyExported: page.alreadyExported,
          });
        }
      }
      if (exportDeleted) queue.length = 0;
      if (queue.length > 0 && running.size < input.maxParallelRuns) {
        const task = runOne(queue.shift()!).finally(() => running.delete(task));
        running.add(task);
        continue;
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
  } catch (error) {
    // Cancelled: let every run finish cancelling (and record Cancelled) before the backfill records it.
    await CancellationScope.nonCancellable(() => Promise.allSettled(running));
    throw error;
  }
  if (exportDeleted) {
    throw ApplicationFailure.nonRetryable(
      `The batch export ${input.batchExportId} was deleted while the backfill ran; the remaining intervals were not exported`,
      'BatchExportDeleted',
    );
  }
  return { done: exhausted, progress };
}

/**
 * One interval's export workflow, as a child. An interval that another execution with the same id is exporting
 * (the schedule's, say), or completed, is not started again: Temporal refuses the id.
 */
async function exportInterval(
  input: BackfillWorkflowInput,
  end: string,
): Promise<'completed' | 'failed' | 'elsewhere'> {
  const args: BatchExportWorkflowInput = {
    batchExportId: input.batchExportId,
    teamId: input.teamId,
    interval: input.schedule.interval,
    timezone: input.schedule.timezone,
    dataIntervalEnd: end,
    backfillId: input.backfillId,
  };
  try {
    await executeChild<(input: BatchExportWorkflowInput) => Promise<BatchExportWorkflowResult>>(
      input.exportWorkflowType,
      {
        workflowId: `${input.batchExportId}-${isoSeconds(new Date(end))}`,
        args: [args],
        // A failed run may be retried; a completed one is exported again only when asked (run retry).
        workflowIdReusePolicy: input.reexportCompleted
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
          : WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        // Terminating the backfill must not leave runs Running forever: they are asked to cancel, and record it.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: input.childSearchAttributes,
        staticSummary: `Backfill ${input.backfillId}: ${input.batchExportId} up to ${end}`,
      },
    );
    return 'completed';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'elsewhere';
    if (CancellationScope.current().consideredCancelled) throw error;
    // The run recorded its own status: Failed, FailedRetryable, or Cancelled when someone cancelled just that run.
    // Either way the interval was not exported.
    return 'failed';
  }
}
