import { log } from '@temporalio/activity';
import type { Pool } from 'pg';
import { z } from 'zod';
import { clearRunProgress, loadRunProgress, saveRunProgress } from '../db/run-progress';
import { streamCopyBatches, type CopyBatch } from '../models/copy-stream';
import { copyColumnsQuery, countQuery, type ModelField, type ModelQuery } from '../models/types';
import type { NetworkPolicy } from '../net/policy';
import type { InsertActivityResult } from '../temporal/contracts';
import type { InsertAttempt } from './contract';
import { attemptModelQuery, type FilteredConfig } from './attempt-query';

/**
 * The insert of the SQL destinations (Postgres, Snowflake): the interval's rows, read in the model's order, are
 * written one batch at a time, and what is committed is saved in Postgres (and heartbeated) after each batch. A
 * retried attempt continues after the last saved batch; the destination makes the batch it may write again (it
 * committed as the worker died, before the save) add nothing: a key it merges on, or a transaction.
 */

/** What an attempt has committed, saved after every batch: a retry continues after `cursor`. */
export const CursorProgress = z.object({
  /** The model's `orderBy` values of the last committed row, as text. */
  cursor: z.array(z.string()),
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type CursorProgress = z.infer<typeof CursorProgress>;

export interface BatchedExportOptions<Config> {
  config: Config;
  /** Where the destination may be: every host it dials goes through this policy. */
  network: NetworkPolicy;
  query: ModelQuery;
  sourcePool: Pool;
  /** Rows per destination batch, at most... */
  batchSize: number;
  /** ...and bytes of source rows read before they are cut into batches (see streamCopyBatches). */
  batchBytes: number;
  /** Read an interval of more rows in slices of this many (see streamCopyBatches); 0 or absent: in one piece. */
  sliceRows?: number;
  sliceReadAhead?: boolean;
  /** Connections the destination may load batches on at once (the Postgres destination; default 1). */
  connections?: number;
  resumeFrom?: CursorProgress | null;
  /**
   * Replace the rows the table holds for the interval's events (a backfill or a retried run). A scheduled run exports
   * its interval for the first time and only inserts.
   */
  replace?: boolean;
  signal?: AbortSignal;
  /** Called after each committed batch; the next batch is written once it resolves. */
  onCommit?: (progress: CursorProgress) => Promise<void> | void;
  /** Something the user should know about their table (logged as a WARNING for the run). */
  onWarning?: (message: string) => Promise<void> | void;
}

export interface BatchedExportResult {
  records: number;
  bytes: number;
  /** Rows the source held for the interval, counted in the snapshot the rows were read from. */
  sourceRecords: number | null;
  /** Rows of the interval the table holds after the last commit, when the destination counts them (else null). */
  destinationRecords: number | null;
}

/**
 * The interval's rows after the resumed cursor, in the model's order, each column as the text `asText` makes of it,
 * read in batches of `batchSize` rows / `batchBytes` bytes (in slices for a big interval). `sourceRecords()` is the
 * source's count of the interval's rows, taken in the snapshot the rows are read from, once the last batch is read.
 */
export function readSourceAsText<Column extends ModelField>(
  options: BatchedExportOptions<unknown>,
  columns: readonly Column[],
  asText: (column: Column) => string,
): { batches: AsyncGenerator<CopyBatch>; sourceRecords: () => number | null } {
  const fields = columns.map((column) => ({ ...column, type: 'string' as const, expression: asText(column) }));
  const source = copyColumnsQuery(
    { ...options.query, fields },
    { withCursor: true, after: options.resumeFrom?.cursor ?? null },
  );
  let sourceRecords: number | null = null;
  const batches = streamCopyBatches(options.sourcePool, source, {
    batchBytes: options.batchBytes,
    batchRows: options.batchSize,
    sliceRows: options.sliceRows,
    sliceReadAhead: options.sliceReadAhead,
    cursorWidth: options.query.orderBy.length,
    count: { query: countQuery(options.query), onCount: (rows) => (sourceRecords = rows) },
  });
  return { batches, sourceRecords: () => sourceRecords };
}

/** Runs `exportInterval` for one attempt: resumes from saved progress, saves it after each batch, returns the receipt. */
export async function writeIntervalInBatches<Config extends FilteredConfig>(
  attempt: InsertAttempt<Config>,
  destination: string,
  exportInterval: (options: BatchedExportOptions<Config>) => Promise<BatchedExportResult>,
): Promise<InsertActivityResult> {
  const { input, pool, settings } = attempt;
  const resumeFrom = await resumableProgress(attempt);
  if (resumeFrom) {
    await attempt.log('INFO', `Resuming after ${resumeFrom.records} records committed by the previous attempt`);
    attempt.heartbeat(resumeFrom);
  }
  const query = attemptModelQuery(attempt);
  const result = await exportInterval({
    config: attempt.config,
    network: settings.destinationAccess,
    query,
    sourcePool: attempt.sourcePool,
    batchSize: settings.source.batchSize,
    batchBytes: settings.source.batchBytes,
    sliceRows: settings.source.sliceRows,
    sliceReadAhead: settings.source.sliceReadAhead,
    connections: settings.postgresDestination.connections,
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
  log.info(`Exported interval to ${destination}`, {
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
async function resumableProgress(attempt: InsertAttempt<unknown>): Promise<CursorProgress | null> {
  const runId = attempt.input.runId;
  if (attempt.number === 1) {
    await clearRunProgress(attempt.pool, runId);
    return null;
  }
  const saved = CursorProgress.safeParse(await loadRunProgress(attempt.pool, runId));
  if (saved.success) return saved.data;
  const heartbeated = CursorProgress.safeParse(attempt.heartbeatDetails);
  return heartbeated.success ? heartbeated.data : null;
}
