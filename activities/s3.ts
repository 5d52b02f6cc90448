import { Context, log } from '@temporalio/activity';
import { writeLog } from '../src/db/logs';
import {
  clearRunProgress,
  keepPlannedParts,
  loadRunProgress,
  partStored,
  plannedParts,
  planPart,
  saveRunProgress,
} from '../src/db/run-progress';
import { createS3Client } from '../src/destinations/s3/client';
import { encoderOptions, S3_SECRET_FIELDS, S3DestinationConfig } from '../src/destinations/s3/config';
import { classifyS3Error } from '../src/destinations/s3/errors';
import { exportToS3 } from '../src/destinations/s3/export';
import { intervalKeyPrefix } from '../src/destinations/s3/keys';
import {
  abortUploadsUnder,
  parseProgress,
  progressTotals,
  recoverProgress,
  uploadStillHolds,
  type S3ExportProgress,
} from '../src/destinations/s3/progress';
import { createFileEncoder } from '../src/formats';
import { buildModelQuery } from '../src/models';
import { streamCopyBatches } from '../src/models/copy-stream';
import { copyColumnsQuery, countQuery, jsonLinesQuery } from '../src/models/types';
import type { InsertActivityInput, InsertActivityResult } from '../src/temporal/contracts';
import type { ActivityDependencies } from '.';
import { keepHeartbeating } from './heartbeat';
import { announceAttempt, failAttempt, loadExport, secretValues } from './insert-attempt';

export function createS3Activities({ pool, sourcePool, config }: ActivityDependencies) {
  const loadS3Export = (batchExportId: string) =>
    loadExport(pool, config.encryptionKey, batchExportId, S3DestinationConfig, 'S3');
  return {
    /**
     * Streams the interval's rows to S3 and returns what it wrote. Records what it writes in Postgres as it writes
     * it (each part before it is sent, each file once complete), and heartbeats it; a retried attempt continues from
     * there instead of starting over.
     */
    async insertIntoS3(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      let secrets: string[] = [];
      try {
        const { batchExport, destinationConfig: s3Config } = await loadS3Export(input.batchExportId);
        secrets = secretValues(s3Config, S3_SECRET_FIELDS);
        await announceAttempt(pool, context, input, `${batchExport.model} to s3://${s3Config.bucket_name}`);
        const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };

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
        const client = createS3Client(s3Config, config.destinationAccess);
        try {
          const keyInput = { prefix: s3Config.prefix, table: batchExport.model, dataIntervalStart, dataIntervalEnd };
          const resumeFrom = await resumableProgress(
            { context, pool, runId: input.runId },
            client,
            s3Config,
            intervalKeyPrefix(keyInput),
          );
          if (resumeFrom && (resumeFrom.files.length || resumeFrom.current)) {
            const { records } = progressTotals(resumeFrom);
            await writeLog(pool, {
              ...entry,
              level: 'INFO',
              message: `Resuming after ${records} records a previous attempt wrote (${resumeFrom.files.length} finished files)`,
            });
          }
          let latest = resumeFrom;
          let sourceRecords: number | null = null;
          const stopHeartbeating = keepHeartbeating(context, () => latest);
          const result = await exportToS3({
            client,
            config: s3Config,
            table: batchExport.model,
            dataIntervalStart,
            dataIntervalEnd,
            createEncoder: () => createFileEncoder(encoderOptions(s3Config, model.fields, config.source.batchSize)),
            readRows: async function* (after) {
              const query = render(model, { after, withCursor: true });
              const options = {
                batchBytes: config.source.batchBytes,
                batchRows: config.source.batchSize,
                cursorWidth: model.orderBy.length,
                count: { query: countQuery(model), onCount: (rows: number) => (sourceRecords = rows) },
              };
              yield* streamCopyBatches(sourcePool, query, options);
            },
            partSizeBytes: config.s3.partSizeBytes,
            resumeFrom,
            signal: context.cancellationSignal,
            onProgress: (progress) => {
              latest = progress;
              context.heartbeat(latest);
            },
            replace: input.replace === true,
            describe: {
              model: batchExport.model,
              schema: model.fields.map(({ name, type }) => ({ name, type })),
              sourceRecords: () => sourceRecords,
            },
            onWarning: (message) => writeLog(pool, { ...entry, level: 'WARNING', message }),
            partJournal: (key) => ({
              planned: (part, mark) => planPart(pool, input.runId, { ...part, key, ...mark }),
              stored: (part) => partStored(pool, input.runId, part),
            }),
            onFileFinished: async (progress) => {
              await saveRunProgress(pool, input.runId, progress);
              await keepPlannedParts(pool, input.runId, null, 0);
            },
          }).finally(stopHeartbeating);
          await clearRunProgress(pool, input.runId);
          if (result.deletedKeys.length > 0) {
            await writeLog(pool, {
              ...entry,
              level: 'INFO',
              message: `Deleted ${result.deletedKeys.length} file(s) an earlier export of the interval wrote and this one did not: ${result.deletedKeys.join(', ')}`,
            });
          }
          if (sourceRecords !== null && sourceRecords !== result.records) {
            await writeLog(pool, {
              ...entry,
              level: 'WARNING',
              message: `The source held ${sourceRecords} rows for the interval when the last attempt read it, and the files hold ${result.records}: rows changed between attempts`,
            });
          }
          log.info('Exported interval to S3', { ...fields, records: result.records, files: result.files.length });
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
      } catch (error) {
        const failure = await failAttempt(pool, context, input, error, secrets);
        log.warn('S3 export attempt failed', { ...fields, error: failure.message });
        throw failure;
      }
    },

    /**
     * Aborts the interval's unfinished multipart uploads after a run failed for good or was cancelled: an attempt
     * killed mid-file leaves its upload behind, and only a retry would have continued it.
     */
    async abortUnfinishedS3Uploads(input: InsertActivityInput): Promise<number> {
      const { batchExport, destinationConfig: s3Config } = await loadS3Export(input.batchExportId);
      const keyInput = {
        prefix: s3Config.prefix,
        table: batchExport.model,
        dataIntervalStart: new Date(input.dataIntervalStart),
        dataIntervalEnd: new Date(input.dataIntervalEnd),
      };
      await clearRunProgress(pool, input.runId);
      const client = createS3Client(s3Config, config.destinationAccess);
      try {
        const aborted = await abortUploadsUnder(client, s3Config.bucket_name, intervalKeyPrefix(keyInput));
        if (aborted)
          log.info('Aborted unfinished uploads', {
            batch_export_id: input.batchExportId,
            run_id: input.runId,
            aborted,
          });
        return aborted;
      } finally {
        client.destroy();
      }
    },
  };
}

/**
 * Where this attempt starts: nothing on a first attempt (forgetting what an earlier execution of the workflow may
 * have saved), else what earlier attempts saved in Postgres, checked against S3 (the last heartbeat when they saved
 * nothing: a run started before progress was saved). Aborts the interval's other uploads: an attempt may die between
 * starting an upload and recording its first part.
 */
async function resumableProgress(
  attempt: { context: Context; pool: ActivityDependencies['pool']; runId: string },
  client: ReturnType<typeof createS3Client>,
  s3Config: S3DestinationConfig,
  keyPrefix: string,
): Promise<S3ExportProgress | null> {
  const { context, pool, runId } = attempt;
  if (context.info.attempt === 1) {
    await clearRunProgress(pool, runId);
    return null;
  }
  const saved = parseProgress(await loadRunProgress(pool, runId));
  const planned = await plannedParts(pool, runId);
  let progress: S3ExportProgress | null;
  try {
    if (saved || planned.length) {
      progress = await recoverProgress(client, s3Config.bucket_name, saved, planned);
    } else {
      progress = parseProgress(context.info.heartbeatDetails);
      if (progress?.current && !(await uploadStillHolds(client, s3Config.bucket_name, progress.current))) {
        progress.current = null;
      }
    }
    await abortUploadsUnder(client, s3Config.bucket_name, keyPrefix, progress?.current?.uploadId);
  } catch (error) {
    throw classifyS3Error(error, { bucket: s3Config.bucket_name, key: keyPrefix });
  }
  await keepPlannedParts(pool, runId, progress?.current?.uploadId ?? null, progress?.current?.parts.length ?? 0);
  return progress;
}
