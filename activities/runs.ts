import { Context, log } from '@temporalio/activity';
import { pauseAfterConsecutiveFailures } from '../src/service/auto-pause';
import { errorMessage } from '../src/errors';
import { writeLog } from '../src/db/logs';
import { completedRunOf, finishRun, startRun, type RunReceipt } from '../src/db/runs';
import type { ActivityDependencies } from '.';

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

export function createRunActivities({ pool, config }: ActivityDependencies) {
  /** A safeguard, not bookkeeping: when pausing fails, the run is still recorded and the next failure tries again. */
  async function pauseIfFailingRepeatedly(batchExportId: string): Promise<void> {
    const threshold = config.autoPause.consecutiveFailedRuns;
    try {
      await pauseAfterConsecutiveFailures({ pool, temporal: Context.current().client }, { batchExportId, threshold });
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
      const interval = `${finished.data_interval_start?.toISOString() ?? 'START'} to ${finished.data_interval_end.toISOString()}`;
      const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
      switch (input.status) {
        case 'Completed':
          log.info('Batch export run completed', { ...fields, records: input.recordsCompleted });
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
