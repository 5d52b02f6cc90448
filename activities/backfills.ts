import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { dataBounds } from '../src/models/bounds';
import { countScheduledIntervals, intervalContaining, scheduledIntervals } from '../src/backfills/intervals';
import { getBatchExport } from '../src/db/batch-exports';
import { recordWorkflowRun, type WorkflowRunStatus } from '../src/db/backfill-workflow-runs';
import { finishBackfill, markBackfill, recordSkippedRuns, type BackfillFinalStatus } from '../src/db/backfills';
import { writeLog } from '../src/db/logs';
import { completedIntervalEnds } from '../src/db/runs';
import { backfillFinishedEvent } from '../src/notifications/hooks';
import { scheduleShape, type BackfillSchedule } from '../src/temporal/contracts';
import type { ActivityDependencies } from './dependencies';
import { keepHeartbeating } from './heartbeat';
import { notifyFromActivity } from './notifications';

export interface BackfillRef {
  backfillId: string;
  batchExportId: string;
  teamId: number;
}

export interface EstimateBackfillInput extends BackfillRef {
  schedule: BackfillSchedule;
  startAt: string | null;
  endAt: string;
}

export interface EstimateBackfillResult {
  /** The start of the first interval with data (ISO 8601), or null when the range holds none. */
  adjustedStartAt: string | null;
  totalRuns: number;
}

export interface PlanBackfillInput extends BackfillRef {
  schedule: BackfillSchedule;
  after: string;
  endAt: string;
  limit: number;
  reexportCompleted: boolean;
}

export interface PlanBackfillResult {
  /** Ends (ISO 8601) of the intervals to run, oldest first. */
  intervals: string[];
  /** Intervals of this page a completed run already exported: not run again. */
  alreadyExported: number;
  /** The end of the last interval this page covered; null when the page reached the backfill's end. */
  next: string | null;
  /**
   * The end of the last interval this page covered, also when it reached the backfill's end; null for none. Absent
   * from results that histories recorded before it existed hold.
   */
  last?: string | null;
}

export interface RecordBackfillProgressInput extends BackfillRef {
  skippedRuns: number;
  /** Ends of intervals whose run was not started because another run of the interval was in progress. */
  inProgressElsewhere: string[];
  /** How many intervals of the page just planned earlier runs had already exported. */
  alreadyExported?: number;
}

/** One workflow run of a backfill, as far as it got: written when it starts and when it ends. */
export interface RecordWorkflowRunInput extends BackfillRef {
  /** Temporal's run id: the row's key. */
  runId: string;
  status: WorkflowRunStatus;
  /** ISO 8601, from Temporal (the run's start, the workflow task's time). */
  startedAt: string;
  finishedAt: string | null;
  /** The start of the first interval the run took on and the end of its last (ISO 8601); null before it has any. */
  dataIntervalStart: string | null;
  dataIntervalEnd: string | null;
  runsCompleted: number;
  runsFailed: number;
  runsSkipped: number;
  latestError: string | null;
}

export interface FinishBackfillInput extends BackfillRef {
  status: BackfillFinalStatus;
  latestError: string | null;
}

/** Thrown (non-retryable) when the export a backfill belongs to is gone: the backfill cannot go on. */
export const EXPORT_DELETED = 'BatchExportDeleted';

export function createBackfillActivities(deps: ActivityDependencies) {
  const { pool, sourcePool } = deps;
  async function exportOrFail(ref: BackfillRef) {
    const batchExport = await getBatchExport(pool, ref.batchExportId);
    if (!batchExport) {
      throw ApplicationFailure.nonRetryable(
        `The batch export ${ref.batchExportId} was deleted while the backfill ran`,
        EXPORT_DELETED,
      );
    }
    return batchExport;
  }

  /**
   * Finds the first interval with data, counts the intervals from there to the end and estimates the records, and
   * records them with status Running. Leading intervals without data are not run at all.
   */
  async function estimate(input: EstimateBackfillInput): Promise<EstimateBackfillResult> {
    const batchExport = await exportOrFail(input);
    const shape = scheduleShape(input.schedule);
    const end = new Date(input.endAt);
    // An unaligned start includes the interval holding it, so that interval's data counts too.
    const from = input.startAt ? intervalContaining(shape, new Date(input.startAt)).start : null;
    const bounds = await dataBounds(sourcePool, { teamId: input.teamId, model: batchExport.model, from, until: end });
    if (!bounds.firstInsertedAt) {
      await markBackfill(pool, input.backfillId, { status: 'Running', totalRecordsCount: 0, totalRuns: 0 });
      return { adjustedStartAt: null, totalRuns: 0 };
    }
    const adjustedStartAt = intervalContaining(shape, bounds.firstInsertedAt).start;
    const totalRuns = countScheduledIntervals(shape, adjustedStartAt, end);
    await markBackfill(pool, input.backfillId, {
      status: 'Running',
      adjustedStartAt,
      totalRecordsCount: bounds.records,
      totalRuns,
    });
    log.info('Backfill running', { batch_export_id: input.batchExportId, backfill_id: input.backfillId, totalRuns });
    await writeLog(pool, {
      teamId: input.teamId,
      batchExportId: input.batchExportId,
      backfillId: input.backfillId,
      level: 'INFO',
      message: `Backfill running: ${totalRuns} interval${totalRuns === 1 ? '' : 's'} from ${adjustedStartAt.toISOString()} (the first with data) to ${input.endAt}, about ${bounds.records} records`,
    });
    return { adjustedStartAt: adjustedStartAt.toISOString(), totalRuns };
  }

  return {
    async startBackfill(input: BackfillRef): Promise<void> {
      await markBackfill(pool, input.backfillId, { status: 'Starting' });
      log.info('Backfill starting', { batch_export_id: input.batchExportId, backfill_id: input.backfillId });
    },

    /** Estimates the backfill (see estimate), heartbeating while it counts. */
    async estimateBackfill(input: EstimateBackfillInput): Promise<EstimateBackfillResult> {
      // Counting may take minutes and reports no progress: the timer alone tells Temporal the worker is alive.
      const stopHeartbeating = keepHeartbeating(Context.current(), () => undefined);
      try {
        return await estimate(input);
      } finally {
        stopHeartbeating();
      }
    },

    /** The next intervals to run, leaving out those a completed run already exported. Read-only: safe to retry. */
    async planBackfillIntervals(input: PlanBackfillInput): Promise<PlanBackfillResult> {
      await exportOrFail(input);
      // One interval more than asked for tells whether this page reaches the end.
      const page: Date[] = [];
      for (const interval of scheduledIntervals(
        scheduleShape(input.schedule),
        new Date(input.after),
        new Date(input.endAt),
      )) {
        page.push(interval.end);
        if (page.length > input.limit) break;
      }
      const exhausted = page.length <= input.limit;
      if (!exhausted) page.pop();
      const done = input.reexportCompleted
        ? new Set<number>()
        : await completedIntervalEnds(pool, input.batchExportId, page);
      const intervals = page.filter((end) => !done.has(end.getTime())).map((end) => end.toISOString());
      const last = page.at(-1)?.toISOString() ?? null;
      return { intervals, alreadyExported: page.length - intervals.length, next: exhausted ? null : last, last };
    },

    /** Records the skipped intervals (an absolute count: a retry writes the same) and says why in the logs. */
    async recordBackfillProgress(input: RecordBackfillProgressInput): Promise<void> {
      await recordSkippedRuns(pool, input.backfillId, input.skippedRuns);
      const entry = { teamId: input.teamId, batchExportId: input.batchExportId, backfillId: input.backfillId };
      if (input.alreadyExported) {
        const intervals = input.alreadyExported === 1 ? '1 interval was' : `${input.alreadyExported} intervals were`;
        await writeLog(pool, {
          ...entry,
          level: 'INFO',
          message: `${intervals} already exported by earlier runs: not exported again`,
        });
      }
      for (const end of input.inProgressElsewhere) {
        await writeLog(pool, {
          ...entry,
          level: 'INFO',
          message: `The interval ending ${end} is being (or was) exported by another run; the backfill did not start it again`,
        });
      }
    },

    /** Upserts the workflow run's row by its run id: a retry, or a replayed workflow, writes the same. */
    async recordBackfillWorkflowRun(input: RecordWorkflowRunInput): Promise<void> {
      const date = (value: string | null) => (value === null ? null : new Date(value));
      await recordWorkflowRun(pool, {
        backfillId: input.backfillId,
        runId: input.runId,
        status: input.status,
        startedAt: new Date(input.startedAt),
        finishedAt: date(input.finishedAt),
        dataIntervalStart: date(input.dataIntervalStart),
        dataIntervalEnd: date(input.dataIntervalEnd),
        runsCompleted: input.runsCompleted,
        runsFailed: input.runsFailed,
        runsSkipped: input.runsSkipped,
        latestError: input.latestError,
      });
      log.info('Backfill workflow run recorded', {
        batch_export_id: input.batchExportId,
        backfill_id: input.backfillId,
        workflow_run_id: input.runId,
        status: input.status,
      });
    },

    async batchExportExists(input: BackfillRef): Promise<boolean> {
      return (await getBatchExport(pool, input.batchExportId)) !== null;
    },

    /** Records the final status, unless the backfill already has one (a cancel request wins over a late finish). */
    async finishBackfill(input: FinishBackfillInput): Promise<void> {
      const finished = await finishBackfill(pool, input.backfillId, input);
      const fields = { batch_export_id: input.batchExportId, backfill_id: input.backfillId, status: input.status };
      if (!finished) {
        log.info('Backfill already had a final status; kept it', fields);
        return;
      }
      log.info('Backfill finished', fields);
      const range = `${finished.start_at?.toISOString() ?? 'the earliest data'} to ${finished.end_at?.toISOString()}`;
      const exported = `${finished.total_records_count ?? 0} records exported`;
      await writeLog(pool, {
        teamId: input.teamId,
        batchExportId: input.batchExportId,
        backfillId: input.backfillId,
        level: input.status === 'Completed' ? 'INFO' : input.status === 'Cancelled' ? 'WARNING' : 'ERROR',
        message:
          input.status === 'Completed'
            ? `Backfill from ${range} completed: ${exported}`
            : `Backfill from ${range} ${input.status === 'Cancelled' ? 'was cancelled' : 'failed'}: ${input.latestError ?? ''} (${exported})`,
      });
      await notifyFromActivity(deps, () => backfillFinishedEvent(pool, finished));
    },
  };
}
