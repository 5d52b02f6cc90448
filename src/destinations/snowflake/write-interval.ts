import { log } from '@temporalio/activity';
import { clearRunProgress, loadRunProgress, saveRunProgress } from '../../db/run-progress';
import { buildModelQuery } from '../../models';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { InsertAttempt } from '../contract';
import type { SnowflakeDestinationConfig } from './config';
import { exportToSnowflake, SnowflakeExportProgress } from './export';

type SnowflakeAttempt = InsertAttempt<SnowflakeDestinationConfig>;

/**
 * Merges the interval's rows into the Snowflake table one batch at a time, saving the row cursor in Postgres after
 * each MERGE (and heartbeating it): a retried attempt continues after the last saved batch, and the batch it may
 * send again is skipped by the MERGE on its key.
 */
export async function writeIntervalToSnowflake(attempt: SnowflakeAttempt): Promise<InsertActivityResult> {
  const { input, pool, settings } = attempt;
  const resumeFrom = await resumableProgress(attempt);
  if (resumeFrom) {
    await attempt.log('INFO', `Resuming after ${resumeFrom.records} records merged by the previous attempt`);
    attempt.heartbeat(resumeFrom);
  }
  const query = buildModelQuery({
    batchExport: attempt.batchExport,
    dataIntervalStart: new Date(input.dataIntervalStart),
    dataIntervalEnd: new Date(input.dataIntervalEnd),
    includeEvents: attempt.config.include_events,
    excludeEvents: attempt.config.exclude_events,
  });
  const result = await exportToSnowflake({
    config: attempt.config,
    network: settings.destinationAccess,
    query,
    sourcePool: attempt.sourcePool,
    batchSize: settings.source.batchSize,
    batchBytes: settings.source.batchBytes,
    resumeFrom,
    replace: input.replace === true,
    signal: attempt.signal,
    onMerged: async (progress) => {
      await saveRunProgress(pool, input.runId, progress);
      attempt.heartbeat(progress);
    },
  });
  await clearRunProgress(pool, input.runId);
  log.info('Exported interval to Snowflake', {
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
      destinationRecords: null,
    },
  };
}

/** Where this attempt starts: the first row on a first attempt, else after what earlier attempts saved. */
async function resumableProgress(attempt: SnowflakeAttempt): Promise<SnowflakeExportProgress | null> {
  const runId = attempt.input.runId;
  if (attempt.number === 1) {
    await clearRunProgress(attempt.pool, runId);
    return null;
  }
  const saved = SnowflakeExportProgress.safeParse(await loadRunProgress(attempt.pool, runId));
  if (saved.success) return saved.data;
  const heartbeated = SnowflakeExportProgress.safeParse(attempt.heartbeatDetails);
  return heartbeated.success ? heartbeated.data : null;
}
