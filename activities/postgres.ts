import { Context, log } from '@temporalio/activity';
import { writeLog } from '../src/db/logs';
import { clearRunProgress, loadRunProgress, saveRunProgress } from '../src/db/run-progress';
import { PostgresDestinationConfig } from '../src/destinations/postgres/config';
import {
  exportToPostgres,
  PostgresExportProgress,
  type PostgresExportResult,
} from '../src/destinations/postgres/export';
import { buildModelQuery } from '../src/models';
import type { InsertActivityInput, InsertActivityResult } from '../src/temporal/contracts';
import type { ActivityDependencies } from '.';
import { keepHeartbeating } from './heartbeat';
import { announceAttempt, failAttempt, loadExport, secretValues } from './insert-attempt';

export function createPostgresActivities({ pool, sourcePool, config }: ActivityDependencies) {
  return {
    /**
     * Loads the interval's rows into the destination table, one committed batch at a time. Saves the row cursor in
     * Postgres after each commit (and heartbeats it); a retried attempt continues after the last one instead of
     * starting over, so a crash redoes at most the batch committed as it died.
     */
    async insertIntoPostgres(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
      let secrets: string[] = [];
      try {
        const { batchExport, destinationConfig } = await loadExport(
          pool,
          config.encryptionKey,
          input.batchExportId,
          PostgresDestinationConfig,
          'Postgres',
        );
        // The password only: `user` is a secret field too, but masking a user named like the database would garble
        // messages about the database.
        secrets = secretValues(destinationConfig, ['password']);
        const { host, port, database, schema, table_name: table } = destinationConfig;
        await announceAttempt(
          pool,
          context,
          input,
          `${batchExport.model} to postgres://${host}:${port}/${database} table "${schema}"."${table}"`,
        );
        const resumeFrom = await resumableProgress(context, pool, input.runId);
        if (resumeFrom) {
          await writeLog(pool, {
            ...entry,
            level: 'INFO',
            message: `Resuming after ${resumeFrom.records} records committed by the previous attempt`,
          });
        }
        const query = buildModelQuery({
          batchExport,
          dataIntervalStart: new Date(input.dataIntervalStart),
          dataIntervalEnd: new Date(input.dataIntervalEnd),
          includeEvents: destinationConfig.include_events,
          excludeEvents: destinationConfig.exclude_events,
        });

        // Also beats while a slow batch is being written, so that only a dead worker misses the heartbeat timeout.
        let latest = resumeFrom ?? undefined;
        const stopHeartbeating = keepHeartbeating(context, () => latest);
        let result: PostgresExportResult;
        try {
          result = await exportToPostgres({
            config: destinationConfig,
            network: config.destinationAccess,
            query,
            sourcePool,
            batchSize: config.source.batchSize,
            batchBytes: config.source.batchBytes,
            resumeFrom,
            replace: input.replace === true,
            signal: context.cancellationSignal,
            onCommit: async (progress) => {
              await saveRunProgress(pool, input.runId, progress);
              latest = progress;
              context.heartbeat(progress);
            },
            onWarning: (message) => writeLog(pool, { ...entry, level: 'WARNING', message }),
          });
        } finally {
          stopHeartbeating();
        }
        await clearRunProgress(pool, input.runId);
        log.info('Exported interval to Postgres', { ...fields, records: result.records });
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
      } catch (error) {
        const failure = await failAttempt(pool, context, input, error, secrets);
        log.warn('Postgres export attempt failed', { ...fields, error: failure.message });
        throw failure;
      }
    },
  };
}

/**
 * Where this attempt starts: from the first row on a first attempt (forgetting what an earlier execution of the
 * workflow may have saved), else after what earlier attempts committed and saved (their last heartbeat when they
 * saved nothing: a run started before progress was saved).
 */
async function resumableProgress(
  context: Context,
  pool: ActivityDependencies['pool'],
  runId: string,
): Promise<PostgresExportProgress | null> {
  if (context.info.attempt === 1) {
    await clearRunProgress(pool, runId);
    return null;
  }
  const saved = PostgresExportProgress.safeParse(await loadRunProgress(pool, runId));
  if (saved.success) return saved.data;
  const heartbeated = PostgresExportProgress.safeParse(context.info.heartbeatDetails);
  return heartbeated.success ? heartbeated.data : null;
}
