import { Context, log } from '@temporalio/activity';
import { NoOpDestinationConfig } from '../src/destinations/noop/config';
import { discardRows } from '../src/destinations/noop/export';
import { buildModelQuery } from '../src/models';
import { streamCopyBatches } from '../src/models/copy-stream';
import { jsonLinesQuery } from '../src/models/types';
import type { InsertActivityInput, InsertActivityResult } from '../src/temporal/contracts';
import type { ActivityDependencies } from '.';
import { keepHeartbeating } from './heartbeat';
import { announceAttempt, failAttempt, loadExport } from './insert-attempt';

export function createNoOpActivities({ pool, sourcePool, config }: ActivityDependencies) {
  return {
    /** Reads the interval's rows as JSON lines and discards them; returns how many there were and their size. */
    async insertIntoNoOp(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      try {
        const { batchExport, destinationConfig } = await loadExport(
          pool,
          config.encryptionKey,
          input.batchExportId,
          NoOpDestinationConfig,
          'NoOp',
        );
        await announceAttempt(pool, context, input, `${batchExport.model} to nowhere (NoOp)`);
        const model = buildModelQuery({
          batchExport,
          dataIntervalStart: new Date(input.dataIntervalStart),
          dataIntervalEnd: new Date(input.dataIntervalEnd),
          includeEvents: destinationConfig.include_events,
          excludeEvents: destinationConfig.exclude_events,
        });
        let progress = { records: 0, bytes: 0 };
        // Nothing is written, so there is nothing to resume: a retried attempt reads the interval again.
        const stopHeartbeating = keepHeartbeating(context, () => progress);
        const result = await discardRows(
          streamCopyBatches(sourcePool, jsonLinesQuery(model), {
            batchBytes: config.source.batchBytes,
            batchRows: config.source.batchSize,
            cursorWidth: 0,
          }),
          { signal: context.cancellationSignal, onBatch: (current) => (progress = { ...current }) },
        ).finally(stopHeartbeating);
        log.info('Read and discarded interval', { ...fields, records: result.records });
        return { recordsCompleted: result.records, bytesExported: result.bytes };
      } catch (error) {
        const failure = await failAttempt(pool, context, input, error, []);
        log.warn('NoOp export attempt failed', { ...fields, error: failure.message });
        throw failure;
      }
    },
  };
}
