import { Context, log } from '@temporalio/activity';
import { pauseAfterConsecutiveFailures } from '../src/service/auto-pause';
import { errorMessage } from '../src/errors';
import { writeLog } from '../src/db/logs';
import { completedRunOf, finishRun, startRun, type RunReceipt, type RunRecord } from '../src/db/runs';
import { recordRunFinished } from '../src/metrics/worker-metrics';
import { autoPausedEvent, runFailedEvent } from '../src/notifications/hooks';
import type { ActivityDependencies } from './dependencies';
import { notifyFromActivity } from './notifications';

export interface StartBatchExportRunInput {
  batchExportId: string;
  teamId: number;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  workflowId: string;
  workflowRunId: string;
  backfillId: string | null;
  /**
   * Set for runs the schedule started: when another run already completed the interval (a backfill that ended at
   * it, a catch-up after downtime), nothing is exported again. Backfills, retries and manual runs export regardless.
   */
  skipIfExported?: boolean;
}

export interface FinishBatchExportRunInput {
  batchExportId: string;
  teamId: number;
  runId: string;
  status: 'Completed' | 'Failed' | 'FailedRetryable' | 'Cancelled';
  recordsCompleted: number | null;
  bytesExported: number | null;
  latestError: string | null;
  /** A completed run's completeness receipt (absent from runs started before receipts existed). */
  receipt?: RunReceipt | null;
}

export function createRunActivities(deps: ActivityDependencies) {
  const { pool, config } = deps;
  /** A safeguard, not bookkeeping: when pausing fails, the run is still recorded and the next failure tries again. */
  async function pauseIfFailingRepeatedly(batchExportId: string): Promise<void> {
    const threshold = config.autoPause.consecutiveFailedRuns;
    try {
      const paused = await pauseAfterConsecutiveFailures(
        { pool, temporal: Context.current().client },
        { batchExportId, threshold },
      );
      if (paused) await notifyFromActivity(deps, () => autoPausedEvent(pool, batchExportId));
    } catch (error) {
      log.warn('Could not pause the export after consecutive failed runs', {
        batch_export_id: batchExportId,
        error: errorMessage(error),
      });
    }
  }

  return {
    /** Inserts the run row as Starting (or finds the one a previous attempt of this workflow inserted). */
    async startBatchExportRun(input: StartBatchExportRunInput): Promise<{ id: string; alreadyExported?: boolean }> {
      if (input.skipIfExported) {
        const done = await completedRunOf(pool, input);
        if (done) {
          log.info('Interval already exported; nothing to do', {
            batch_export_id: input.batchExportId,
            run_id: done.id,
          });
          return { id: done.id, alreadyExported: true };
        }
      }
      const run = await startRun(pool, {
        batchExportId: input.batchExportId,
        dataIntervalStart: new Date(input.dataIntervalStart),
        dataIntervalEnd: new Date(input.dataIntervalEnd),
        workflowId: input.workflowId,
        workflowRunId: input.workflowRunId,
        backfillId: input.backfillId,
      });
      log.info('Batch export run started', { batch_export_id: input.batchExportId, run_id: run.id });
      return { id: run.id };
    },

    /** Records the final status, unless the run already has one, and the log line the user sees. */
    async finishBatchExportRun(input: FinishBatchExportRunInput): Promise<void> {
      const finished = await finishRun(pool, input);
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId, status: input.status };
      if (!finished) {
        log.warn('Batch export run already had a final status; kept it', fields);
        return;
      }
      await recordRunFinished(pool, input, finished);
      const interval = `${finished.data_interval_start?.toISOString() ?? 'START'} to ${finished.data_interval_end.toISOString()}`;
      const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
      switch (input.status) {
        case 'Completed':
          log.info('Batch export run completed', { ...fields, ...runLogFields(input, finished) });
          await writeLog(pool, {
            ...entry,
            level: 'INFO',
            message: `Run for ${interval} completed: ${input.recordsCompleted ?? 0} records, ${input.bytesExported ?? 0} bytes exported${receiptSummary(input.receipt)}`,
          });
          break;
        case 'Cancelled':
          log.info('Batch export run cancelled', fields);
          await writeLog(pool, { ...entry, level: 'WARNING', message: `Run for ${interval} was cancelled` });
          break;
        case 'Failed':
        case 'FailedRetryable':
          log.warn('Batch export run failed', { ...fields, error: input.latestError });
          await writeLog(pool, {
            ...entry,
            level: 'ERROR',
            message: `Run for ${interval} failed${input.status === 'FailedRetryable' ? ' after retries' : ''}: ${input.latestError}`,
          });
          await notifyFromActivity(deps, () => runFailedEvent(pool, finished));
          await pauseIfFailingRepeatedly(input.batchExportId);
          break;
      }
    },
  };
}

/** ` (the source held N rows; M files)`: the receipt in the run's completion line. */
function receiptSummary(receipt: RunReceipt | null | undefined): string {
  if (!receipt || receipt.sourceRecords === null) return '';
  const files = receipt.manifestKey ? `; ${receipt.files.length} file${receipt.files.length === 1 ? '' : 's'}` : '';
  return ` (the source held ${receipt.sourceRecords} rows for the interval${files})`;
}

/** The fields of a run's one completion line: its interval, what it wrote, how long it took, and its receipt. */
function runLogFields(input: FinishBatchExportRunInput, run: RunRecord) {
  return {
    data_interval_start: run.data_interval_start?.toISOString() ?? null,
    data_interval_end: run.data_interval_end.toISOString(),
    records: input.recordsCompleted,
    bytes: input.bytesExported,
    duration_seconds: run.finished_at ? (run.finished_at.getTime() - run.created_at.getTime()) / 1000 : null,
    receipt: input.receipt ?? null,
  };
}
