import { log } from '@temporalio/activity';
import {
  clearRunProgress,
  keepPlannedParts,
  loadRunProgress,
  partStored,
  plannedParts,
  planPart,
  saveFileFinished,
} from '../../db/run-progress';
import { createFileEncoder } from '../../formats';
import { streamCopyBatches } from '../../models/copy-stream';
import { copyColumnsQuery, countQuery } from '../../models/types';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { DestinationAccess } from '../../config';
import type { InsertAttempt } from '../contract';
import { encoderOptions } from '../s3/config';
import { intervalKeyPrefix } from '../s3/keys';
import { exportObjects, type FileLayout } from './export';
import {
  abortStoredUploadsUnder,
  parseProgress,
  progressTotals,
  recoverStoredProgress,
  storeStillHolds,
  type ObjectExportProgress,
} from './progress';
import type { ObjectStore } from './store';
import { attemptModelQuery } from '../attempt-query';

/** The config fields every object-storage destination has. */
export type ObjectStorageConfig = FileLayout & {
  include_events?: string[] | null;
  exclude_events?: string[] | null;
};

/** A store opened for one attempt, and how to release its connections. */
export interface OpenedStore {
  store: ObjectStore;
  close(): void;
}

/** What an object-storage destination gives the shared writer: its name (for logs) and how it opens its store. */
export interface StoreOpener<Config> {
  name: string;
  open(config: Config, access: DestinationAccess): OpenedStore | Promise<OpenedStore>;
}

/**
 * Streams the interval's rows to an object store and returns what it wrote. Records what it writes in Postgres as it
 * writes it (each part before it is sent, each file once complete), and heartbeats it; a retried attempt continues
 * from there instead of starting over.
 */
export async function writeIntervalToStore<Config extends ObjectStorageConfig>(
  attempt: InsertAttempt<Config>,
  opener: StoreOpener<Config>,
): Promise<InsertActivityResult> {
  const { input, batchExport, config, pool, settings } = attempt;
  const dataIntervalStart = new Date(input.dataIntervalStart);
  const dataIntervalEnd = new Date(input.dataIntervalEnd);
  const model = attemptModelQuery(attempt);
  const { store, close } = await opener.open(config, settings.destinationAccess);
  try {
    const keyPrefix = intervalKeyPrefix({
      prefix: config.prefix,
      table: batchExport.model,
      dataIntervalStart,
      dataIntervalEnd,
    });
    const resumeFrom = await resumableProgress(attempt, store, keyPrefix);
    if (resumeFrom && (resumeFrom.files.length || resumeFrom.current)) {
      const { records } = progressTotals(resumeFrom);
      await attempt.log(
        'INFO',
        `Resuming after ${records} records a previous attempt wrote (${resumeFrom.files.length} finished files)`,
      );
    }
    if (resumeFrom) attempt.heartbeat(resumeFrom);
    let sourceRecords: number | null = null;
    const result = await exportObjects({
      store,
      config: config,
      table: batchExport.model,
      dataIntervalStart,
      dataIntervalEnd,
      createEncoder: () => createFileEncoder(encoderOptions(config, model.fields, settings)),
      readRows: async function* (after) {
        // JSON lines and Parquet columns are built by the worker, fields taken from another one's JSON included
        // (JsonLinesWriter, DerivedColumns): with Postgres taking them, it parsed each row's JSON once per field.
        const query = copyColumnsQuery(model, { after, withCursor: true, readerDerives: true });
        const options = {
          batchBytes: settings.source.fileBatchBytes,
          sliceRows: settings.source.sliceRows,
          sliceReadAhead: settings.source.sliceReadAhead,
          batchRows: settings.source.batchSize,
          cursorWidth: model.orderBy.length,
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
      onFileFinished: (progress) => saveFileFinished(pool, input.runId, progress),
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
    log.info(`Exported interval to ${opener.name}`, {
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
    close();
  }
}

/**
 * Aborts the interval's unfinished uploads after a run failed for good or was cancelled: an attempt killed
 * mid-file leaves its upload behind, and only a retry would have continued it.
 */
export async function abortUnfinishedStoreUploads<Config extends ObjectStorageConfig>(
  attempt: Omit<InsertAttempt<Config>, 'number' | 'heartbeat' | 'heartbeatDetails'>,
  opener: StoreOpener<Config>,
): Promise<void> {
  const { input, batchExport, config, pool, settings } = attempt;
  const keyPrefix = intervalKeyPrefix({
    prefix: config.prefix,
    table: batchExport.model,
    dataIntervalStart: new Date(input.dataIntervalStart),
    dataIntervalEnd: new Date(input.dataIntervalEnd),
  });
  await clearRunProgress(pool, input.runId);
  const { store, close } = await opener.open(config, settings.destinationAccess);
  try {
    const aborted = await abortStoredUploadsUnder(store, keyPrefix);
    if (aborted)
      log.info('Aborted unfinished uploads', { batch_export_id: input.batchExportId, run_id: input.runId, aborted });
  } finally {
    close();
  }
}

/**
 * Where this attempt starts: nothing on a first attempt (forgetting what an earlier execution of the workflow may
 * have saved), else what earlier attempts saved in Postgres, checked against the store (the last heartbeat when they saved
 * nothing: a run started before progress was saved). Aborts the interval's other uploads: an attempt may die between
 * starting an upload and recording its first part.
 */
async function resumableProgress(
  attempt: InsertAttempt<ObjectStorageConfig>,
  store: ObjectStore,
  keyPrefix: string,
): Promise<ObjectExportProgress | null> {
  const { pool, input } = attempt;
  const runId = input.runId;
  if (attempt.number === 1) {
    await clearRunProgress(pool, runId);
    return null;
  }
  const saved = parseProgress(await loadRunProgress(pool, runId));
  const planned = await plannedParts(pool, runId);
  let progress: ObjectExportProgress | null;
  try {
    if (saved || planned.length) {
      progress = await recoverStoredProgress(store, saved, planned);
    } else {
      progress = parseProgress(attempt.heartbeatDetails);
      if (progress?.current && !(await storeStillHolds(store, progress.current))) {
        progress.current = null;
      }
    }
    await abortStoredUploadsUnder(store, keyPrefix, progress?.current?.uploadId);
  } catch (error) {
    throw store.classify(error, keyPrefix);
  }
  await keepPlannedParts(pool, runId, progress?.current?.uploadId ?? null, progress?.current?.parts.length ?? 0);
  return progress;
}
