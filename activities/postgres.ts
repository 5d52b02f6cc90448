import { Context, log } from '@temporalio/activity';
import { writeLog } from '../src/db/logs';
import { PostgresDestinationConfig } from '../src/destinations/postgres/config';
import { exportToPostgres, PostgresExportProgress } from '../src/destinations/postgres/export';
import { buildModelQuery } from '../src/models';
import type { InsertActivityInput, InsertActivityResult } from '../workflows/types';
import type { ActivityDependencies } from '.';
import { toActivityFailure } from './failures';
import { announceAttempt, loadExport } from './insert-attempt';

export function createPostgresActivities({ pool, sourcePool, config }: ActivityDependencies) {
  return {
    /**
     * Loads the interval's rows into the destination table, one committed batch at a time. Heartbeats the row
     * cursor after each commit; a retried attempt continues after the last one instead of starting over.
     */
    async insertIntoPostgres(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      try {
        const { batchExport, destinationConfig } = await loadExport(
          pool,
          config.encryptionKey,
          input.batchExportId,
          PostgresDestinationConfig,
          'Postgres',
        );
        const { host, port, database, schema, table_name: table } = destinationConfig;
        await announceAttempt(
          pool,
          context,
          input,
          `${batchExport.model} to postgres://${host}:${port}/${database} table "${schema}"."${table}"`,
        );
        const previous = PostgresExportProgress.safeParse(context.info.heartbeatDetails);
        const resumeFrom = context.info.attempt > 1 && previous.success ? previous.data : null;
        if (resumeFrom) {
          await writeLog(pool, {
            teamId: input.teamId,
            batchExportId: input.batchExportId,
            runId: input.runId,
            level: 'INFO',
            message: `Resuming after ${resumeFrom.records} records committed by the previous attempt`,
          });
        }
        context.heartbeat(resumeFrom ?? undefined);

        const result = await exportToPostgres({
          config: destinationConfig,
          query: buildModelQuery({
            batchExport,
            dataIntervalStart: new Date(input.dataIntervalStart),
            dataIntervalEnd: new Date(input.dataIntervalEnd),
            includeEvents: destinationConfig.include_events,
            excludeEvents: destinationConfig.exclude_events,
          }),
          sourcePool,
          batchSize: config.source.batchSize,
          resumeFrom,
          signal: context.cancellationSignal,
          onCommit: (progress) => context.heartbeat(progress),
        });
        log.info('Exported interval to Postgres', { ...fields, records: result.records });
        return { recordsCompleted: result.records, bytesExported: result.bytes };
      } catch (error) {
        log.warn('Postgres export attempt failed', { ...fields, error: (error as Error)?.message });
        throw toActivityFailure(error);
      }
    },
  };
}
