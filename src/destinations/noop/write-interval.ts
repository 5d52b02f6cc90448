import { log } from '@temporalio/activity';
import { streamCopyBatches } from '../../models/copy-stream';
import { JsonLinesWriter } from '../../formats/json-lines';
import { copyColumnsQuery } from '../../models/types';
import type { InsertActivityResult } from '../../temporal/contracts';
import type { InsertAttempt } from '../contract';
import type { NoOpDestinationConfig } from './config';
import { discardRows } from './export';
import { attemptModelQuery } from '../attempt-query';

/** Reads the interval's rows as JSON lines and discards them; returns how many there were and their size. */
export async function discardInterval(attempt: InsertAttempt<NoOpDestinationConfig>): Promise<InsertActivityResult> {
  const { input, settings } = attempt;
  const model = attemptModelQuery(attempt);
  // Nothing is written, so there is nothing to resume: a retried attempt reads the interval again. The rows are read
  // and written as JSON lines as the S3 destination writes them, and weighed.
  const writer = new JsonLinesWriter(model.fields);
  const result = await discardRows(
    streamCopyBatches(attempt.sourcePool, copyColumnsQuery(model, { readerDerives: true }), {
      batchBytes: settings.source.batchBytes,
      batchRows: settings.source.batchSize,
      cursorWidth: 0,
      sliceRows: settings.source.sliceRows,
      sliceReadAhead: settings.source.sliceReadAhead,
    }),
    (batch) => writer.write(batch).length,
    { signal: attempt.signal, onBatch: (current) => attempt.heartbeat({ ...current }) },
  );
  log.info('Read and discarded interval', {
    batch_export_id: input.batchExportId,
    run_id: input.runId,
    records: result.records,
  });
  return { recordsCompleted: result.records, bytesExported: result.bytes };
}
