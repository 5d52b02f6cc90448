import { log } from '@temporalio/activity';
import {
  clearRunProgress,
  keepPlannedParts,
  loadRunProgress,
  partStored,
  plannedParts,
  planPart,
  saveRunProgress,
} from '../../db/run-progress';
import { createFileEncoder } from '../../formats';
import { buildModelQuery } from '../../models';
import { streamCopyBatches } from '../../models/copy-stream';
import { copyColumnsQuery, countQuery, jsonLinesQuery } from '../../models/types';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { Destination, InsertAttempt } from '../contract';
import { createS3Client } from './client';
import { encoderOptions, type S3DestinationConfig } from './config';
import { classifyS3Error } from './errors';
import { exportToS3 } from './export';
import { intervalKeyPrefix } from './keys';
import {
  abortUploadsUnder,
  parseProgress,
  progressTotals,
  recoverProgress,
  uploadStillHolds,
  type S3ExportProgress,
} from './progress';

type S3Attempt = InsertAttempt<S3DestinationConfig>;

/**
 * Streams the interval's rows to S3 and returns what it wrote. Records what it writes in Postgres as it writes it
 * (each part before it is sent, each file once complete), and heartbeats it; a retried attempt continues from there
 * instead of starting over.
 */
export async function writeIntervalToS3(attempt: S3Attempt): Promise<InsertActivityResult> {
  const { input, batchExport, config: s3Config, pool, settings } = attempt;
  const dataIntervalStart = new Date(input.dataIntervalStart);
  const dataIntervalEnd = new Date(input.dataIntervalEnd);
  const model = buildModelQuery({
    batchExport,
    dataIntervalStart,
    dataIntervalEnd,
    includeEvents: s3Config.include_events,
    excludeEvents: s3Config.exclude_events,
  });
  const render = s3Config.file_format === 'Parquet' ? copyColumnsQuery : jsonLinesQuery;
  const client = createS3Client(s3Config, settings.destinationAccess);
  try {
    const keyPrefix = intervalKeyPrefix({
      prefix: s3Config.prefix,
      table: batchExport.model,
      dataIntervalStart,
      dataIntervalEnd,
    });
    const resumeFrom = await resumableProgress(attempt, client, keyPrefix);
    if (resumeFrom && (resumeFrom.files.length || resumeFrom.current)) {
      const { records } = progressTotals(resumeFrom);
      await attempt.log(
        'INFO',
        `Resuming after ${records} records a previous attempt wrote (${resumeFrom.files.length} finished files)`,
      );
    }
    if (resumeFrom) attempt.heartbeat(resumeFrom);
    let sourceRecords: number | null = null;
    const result = await exportToS3({
      client,
      config: s3Config,
      table: batchExport.model,
      dataIntervalStart,
      dataIntervalEnd,
      createEncoder: () => createFileEncoder(encoderOptions(s3Config, model.fields, settings)),
      readRows: async function* (after) {
        const query = render(model, { after, withCursor: true });
        const options = {
          batchBytes: settings.source.batchBytes,
          batchRows: settings.source.batchSize,
          cursorWidth: model.orderBy.length,
          sliceRows: settings.source.sliceRows,
          sliceReadAhead: settings.source.sliceReadAhead,
          count: { query: countQuery(model), onCount: (rows: number) => (sourceRecords = rows) },
        };
        yield* streamCopyBatches(attempt.sourcePool, query, options);
      },
      partSizeBytes: settings.s3.partSizeBytes,
      resumeFrom,
      signal: attempt.signal,
      onProgress: (progress) => attempt.heartbeat(progress),
      replace: input.replace === true,
      describe: {
        model: batchExport.model,
        schema: model.fields.map(({ name, type }) => ({ name, type })),
        sourceRecords: () => sourceRecords,
      },
      onWarning: (message) => attempt.log('WARNING', message),
      partJournal: (key) => ({
        planned: (part, mark) => planPart(pool, input.runId, { ...part, key, ...mark }),
        stored: (part) => partStored(pool, input.runId, part),
      }),
      onFileFinished: async (progress) => {
        await saveRunProgress(pool, input.runId, progress);
        await keepPlannedParts(pool, input.runId, null, 0);
      },
    });
    await clearRunProgress(pool, input.runId);
    if (result.deletedKeys.length > 0) {
      await attempt.log(
        'INFO',
        `Deleted ${result.deletedKeys.length} file(s) an earlier export of the interval wrote and this one did not: ${result.deletedKeys.join(', ')}`,
      );
    }
    if (sourceRecords !== null && sourceRecords !== result.records) {
      await attempt.log(
        'WARNING',
        `The source held ${sourceRecords} rows for the interval when the last attempt read it, and the files hold ${result.records}: rows changed between attempts`,
      );
    }
    log.info('Exported interval to S3', {
      batch_export_id: input.batchExportId,
      run_id: input.runId,
      records: result.records,
      files: result.files.length,
    });
    return {
      recordsCompleted: result.records,
      bytesExported: result.bytes,
      receipt: {
        sourceRecords,
        recordsWritten: result.records,
        bytes: result.bytes,
        files: result.files,
        manifestKey: result.manifestKey,
      },
    };
  } finally {
    client.destroy();
  }
}

/**
 * Aborts the interval's unfinished multipart uploads after a run failed for good or was cancelled: an attempt killed
 * mid-file leaves its upload behind, and only a retry would have continued it.
 */
export const abortUnfinishedUploads: NonNullable<Destination<S3DestinationConfig>['cleanUpAfterFailure']> = async ({
  input,
  batchExport,
  config: s3Config,
  pool,
  settings,
}) => {
  const keyPrefix = intervalKeyPrefix({
    prefix: s3Config.prefix,
    table: batchExport.model,
    dataIntervalStart: new Date(input.dataIntervalStart),
    dataIntervalEnd: new Date(input.dataIntervalEnd),
  });
  await clearRunProgress(pool, input.runId);
  const client = createS3Client(s3Config, settings.destinationAccess);
  try {
    const aborted = await abortUploadsUnder(client, s3Config.bucket_name, keyPrefix);
    if (aborted)
      log.info('Aborted unfinished uploads', { batch_export_id: input.batchExportId, run_id: input.runId, aborted });
  } finally {
    client.destroy();
  }
};

/**
 * Where this attempt starts: nothing on a first attempt (forgetting what an earlier execution of the workflow may
 * have saved), else what earlier attempts saved in Postgres, checked against S3 (the last heartbeat when they saved
 * nothing: a run started before progress was saved). Aborts the interval's other uploads: an attempt may die between
 * starting an upload and recording its first part.
 */
async function resumableProgress(
  attempt: S3Attempt,
  client: ReturnType<typeof createS3Client>,
  keyPrefix: string,
): Promise<S3ExportProgress | null> {
  const { pool, input, config } = attempt;
  const runId = input.runId;
  if (attempt.number === 1) {
    await clearRunProgress(pool, runId);
    return null;
  }
  const saved = parseProgress(await loadRunProgress(pool, runId));
  const planned = await plannedParts(pool, runId);
  let progress: S3ExportProgress | null;
  try {
    if (saved || planned.length) {
      progress = await recoverProgress(client, config.bucket_name, saved, planned);
    } else {
      progress = parseProgress(attempt.heartbeatDetails);
      if (progress?.current && !(await uploadStillHolds(client, config.bucket_name, progress.current))) {
        progress.current = null;
      }
    }
    await abortUploadsUnder(client, config.bucket_name, keyPrefix, progress?.current?.uploadId);
  } catch (error) {
    throw classifyS3Error(error, { bucket: config.bucket_name, key: keyPrefix });
  }
  await keepPlannedParts(pool, runId, progress?.current?.uploadId ?? null, progress?.current?.parts.length ?? 0);
  return progress;
}
