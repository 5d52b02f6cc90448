import { log } from '@temporalio/activity';
import { clearRunProgress, loadRunProgress, saveRunProgress } from '../../db/run-progress';
import { buildModelQuery } from '../../models';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { InsertAttempt } from '../contract';
import type { PostgresDestinationConfig } from './config';
import { exportToPostgres, PostgresExportProgress } from './export';

type PostgresAttempt = InsertAttempt<PostgresDestinationConfig>;

/**
 * Loads the interval's rows into the destination table, one committed batch at a time. Saves the row cursor in
 * Postgres after each commit (and heartbeats it); a retried attempt continues after the last one instead of starting
 * over, so a crash redoes at most the batch committed as it died.
 */
export async function writeIntervalToPostgres(attempt: PostgresAttempt): Promise<InsertActivityResult> {
  const { input, pool, settings } = attempt;
  const resumeFrom = await resumableProgress(attempt);
  if (resumeFrom) {
    await attempt.log('INFO', `Resuming after ${resumeFrom.records} records committed by the previous attempt`);
    attempt.heartbeat(resumeFrom);
  }
  const query = buildModelQuery({
    batchExport: attempt.batchExport,
    dataIntervalStart: new Date(input.dataIntervalStart),
    dataIntervalEnd: new Date(input.dataIntervalEnd),
    includeEvents: attempt.config.include_events,
    excludeEvents: attempt.config.exclude_events,
  });
  const result = await exportToPostgres({
    config: attempt.config,
    network: settings.destinationAccess,
    query,
    sourcePool: attempt.sourcePool,
    batchSize: settings.source.batchSize,
    batchBytes: settings.source.batchBytes,
    sliceRows: settings.source.sliceRows,
    sliceReadAhead: settings.source.sliceReadAhead,
    resumeFrom,
    replace: input.replace === true,
    signal: attempt.signal,
    onCommit: async (progress) => {
      await saveRunProgress(pool, input.runId, progress);
      attempt.heartbeat(progress);
    },
    onWarning: (message) => attempt.log('WARNING', message),
  });
  await clearRunProgress(pool, input.runId);
  log.info('Exported interval to Postgres', {
    batch_export_id: input.batchExportId,
    run_id: input.runId,
    records: result.records,
  });
  return {
    recordsCompleted: result.records,
    bytesExported: result.bytes,
    receipt: {
      sourceRecords: result.sourceRecords,
      recordsWritten: result.records,
      bytes: result.bytes,
      files: [],
      destinationRecords: result.destinationRecords,
    },
  };
}

/**
 * Where this attempt starts: from the first row on a first attempt (forgetting what an earlier execution of the
 * workflow may have saved), else after what earlier attempts committed and saved (their last heartbeat when they
 * saved nothing: a run started before progress was saved).
 */
async function resumableProgress(attempt: PostgresAttempt): Promise<PostgresExportProgress | null> {
  const runId = attempt.input.runId;
  if (attempt.number === 1) {
    await clearRunProgress(attempt.pool, runId);
    return null;
  }
  const saved = PostgresExportProgress.safeParse(await loadRunProgress(attempt.pool, runId));
  if (saved.success) return saved.data;
  const heartbeated = PostgresExportProgress.safeParse(attempt.heartbeatDetails);
  return heartbeated.success ? heartbeated.data : null;
}
