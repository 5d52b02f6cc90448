import { log } from '@temporalio/activity';
import { z } from 'zod';
import { clearRunProgress, loadRunProgress, saveRunProgress } from '../../db/run-progress';
import { BatchExportError } from '../../errors';
import { streamCopyBatches } from '../../models/copy-stream';
import { countQuery, jsonLinesQuery } from '../../models/types';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { InsertAttempt } from '../contract';
import { cutBatches, encodeBatch, idempotencyKey, readAhead, rowFields } from './batches';
import type { HttpDestinationConfig } from './config';
import { deliverBatch } from './deliver';
import { HttpEndpoint } from './endpoint';
import { attemptModelQuery } from '../attempt-query';

type HttpAttempt = InsertAttempt<HttpDestinationConfig>;

/** What the endpoint has acknowledged, saved after every batch: a retry sends batch `batches + 1` next. */
export const HttpExportProgress = z.object({
  /** The model's `orderBy` values of the last acknowledged row, as text. */
  cursor: z.array(z.string()),
  batches: z.number().int().nonnegative(),
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type HttpExportProgress = z.infer<typeof HttpExportProgress>;

/**
 * POSTs the interval's rows in batches, one at a time (the next one read and encoded meanwhile), each under its
 * idempotency key. Saves the cursor of the last acknowledged batch in Postgres (and heartbeats it); a retried attempt
 * continues with the next batch, so a worker killed mid-interval sends at most the batch it was sending again, under
 * the same key, which a receiver that honours the key drops.
 */
export async function writeIntervalToHttp(attempt: HttpAttempt): Promise<InsertActivityResult> {
  const { input, pool, config } = attempt;
  if (config.format === 'capture' && attempt.batchExport.model !== 'events') {
    throw new BatchExportError(
      `format "capture" sends events, not ${attempt.batchExport.model}: use format "JSONLines" for this model`,
      { kind: 'configuration', context: { field: 'format' } },
    );
  }
  const resumeFrom = await resumableProgress(attempt);
  if (resumeFrom) {
    await attempt.log(
      'INFO',
      `Resuming after ${resumeFrom.batches} batches (${resumeFrom.records} records) acknowledged before`,
    );
    attempt.heartbeat(resumeFrom);
  }
  const query = rowFields(attemptModelQuery(attempt), config.format);
  let sourceRecords: number | null = null;
  const rows = streamCopyBatches(
    attempt.sourcePool,
    jsonLinesQuery(query, { withCursor: true, after: resumeFrom?.cursor ?? null }),
    {
      batchBytes: attempt.settings.source.batchBytes,
      batchRows: attempt.settings.source.batchSize,
      cursorWidth: query.orderBy.length,
      count: { query: countQuery(query), onCount: (count) => (sourceRecords = count) },
    },
  );
  const progress: HttpExportProgress = resumeFrom ?? { cursor: [], batches: 0, records: 0, bytes: 0 };
  const endpoint = new HttpEndpoint(config, attempt.settings.destinationAccess);
  const secrets = config.token ? [config.token] : [];
  try {
    const batches = cutBatches(rows, {
      maxRows: config.max_batch_rows,
      maxBytes: config.max_batch_bytes,
      firstNumber: progress.batches + 1,
    });
    const keyOf = (number: number) =>
      idempotencyKey(input.batchExportId, input.dataIntervalStart, input.dataIntervalEnd, number);
    const encoded = readAhead(
      (async function* () {
        for await (const batch of batches)
          yield { batch, ...(await encodeBatch(config, batch.rows, keyOf(batch.number))) };
      })(),
    );
    for await (const { batch, body, headers } of encoded) {
      attempt.signal.throwIfAborted();
      await deliverBatch(endpoint, body, headers, {
        signal: attempt.signal,
        secrets,
        onRetry: (reason, delay) =>
          attempt.log('WARNING', `Batch ${batch.number}: ${reason}; trying again in ${Math.ceil(delay / 1000)} s`),
      });
      progress.cursor = batch.cursor;
      progress.batches = batch.number;
      progress.records += batch.rows.length;
      progress.bytes += body.length;
      await saveRunProgress(pool, input.runId, progress);
      attempt.heartbeat({ ...progress });
    }
  } finally {
    endpoint.close();
  }
  await clearRunProgress(pool, input.runId);
  log.info('Exported interval over HTTP', {
    batch_export_id: input.batchExportId,
    run_id: input.runId,
    records: progress.records,
    batches: progress.batches,
  });
  return {
    recordsCompleted: progress.records,
    bytesExported: progress.bytes,
    receipt: {
      // Counted in the snapshot this attempt read from; rows acknowledged earlier are in `records` too.
      sourceRecords,
      recordsWritten: progress.records,
      bytes: progress.bytes,
      files: [],
    },
  };
}

/**
 * Where this attempt starts: the first batch on a first attempt (forgetting what an earlier execution of the
 * workflow may have saved), else after the last batch earlier attempts saved as acknowledged.
 */
async function resumableProgress(attempt: HttpAttempt): Promise<HttpExportProgress | null> {
  if (attempt.number === 1) {
    await clearRunProgress(attempt.pool, attempt.input.runId);
    return null;
  }
  const saved = HttpExportProgress.safeParse(await loadRunProgress(attempt.pool, attempt.input.runId));
  return saved.success ? saved.data : null;
}
