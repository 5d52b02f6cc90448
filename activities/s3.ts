import { Context, log } from '@temporalio/activity';
import { getBatchExport, getDestinationConfigWithSecrets } from '../src/db/batch-exports';
import { writeLog } from '../src/db/logs';
import { markRunRunning } from '../src/db/runs';
import { createS3Client } from '../src/destinations/s3/client';
import { S3DestinationConfig } from '../src/destinations/s3/config';
import { exportJsonLinesToS3 } from '../src/destinations/s3/export';
import { BatchExportError } from '../src/errors';
import { buildModelQuery } from '../src/models';
import { jsonLinesQuery } from '../src/models/types';
import { streamTextColumn } from '../src/models/stream';
import type { InsertActivityInput, InsertActivityResult } from '../workflows/types';
import type { ActivityDependencies } from '.';
import { toActivityFailure } from './failures';

export function createS3Activities({ pool, sourcePool, config }: ActivityDependencies) {
  return {
    /** Streams the interval's rows to S3 and returns what it wrote. Heartbeats progress after every batch. */
    async insertIntoS3(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      try {
        const batchExport = await getBatchExport(pool, input.batchExportId);
        const destination = await getDestinationConfigWithSecrets(pool, config.encryptionKey, input.batchExportId);
        if (!batchExport || !destination) {
          throw new BatchExportError(`Batch export ${input.batchExportId} does not exist or was deleted`, {
            kind: 'configuration',
          });
        }
        const parsed = S3DestinationConfig.safeParse(destination.config);
        if (!parsed.success) {
          throw new BatchExportError(`The S3 destination's config is invalid: ${parsed.error.issues[0]?.message}`, {
            kind: 'configuration',
          });
        }
        const s3Config = parsed.data;
        if (context.info.attempt > 1) {
          await writeLog(pool, {
            teamId: input.teamId,
            batchExportId: input.batchExportId,
            runId: input.runId,
            level: 'WARNING',
            message: `Retrying the export (attempt ${context.info.attempt})`,
          });
        }
        await markRunRunning(pool, input.runId);
        await writeLog(pool, {
          teamId: input.teamId,
          batchExportId: input.batchExportId,
          runId: input.runId,
          level: 'INFO',
          message: `Exporting ${batchExport.model} inserted from ${input.dataIntervalStart} to ${input.dataIntervalEnd} to s3://${s3Config.bucket_name}`,
        });

        const dataIntervalStart = new Date(input.dataIntervalStart);
        const dataIntervalEnd = new Date(input.dataIntervalEnd);
        const query = jsonLinesQuery(
          buildModelQuery({
            batchExport,
            dataIntervalStart,
            dataIntervalEnd,
            includeEvents: s3Config.include_events,
            excludeEvents: s3Config.exclude_events,
          }),
        );
        const client = createS3Client(s3Config);
        try {
          const result = await exportJsonLinesToS3({
            client,
            config: s3Config,
            table: batchExport.model,
            dataIntervalStart,
            dataIntervalEnd,
            lines: streamTextColumn(sourcePool, query, config.source.batchSize),
            partSizeBytes: config.s3.partSizeBytes,
            signal: context.cancellationSignal,
            onProgress: (progress) => context.heartbeat(progress),
          });
          log.info('Exported interval to S3', { ...fields, records: result.records, files: result.files.length });
          return { recordsCompleted: result.records, bytesExported: result.bytes };
        } finally {
          client.destroy();
        }
      } catch (error) {
        log.warn('S3 export attempt failed', { ...fields, error: (error as Error)?.message });
        throw toActivityFailure(error);
      }
    },
  };
}
