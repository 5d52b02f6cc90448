import { Context, log } from '@temporalio/activity';
import { writeLog } from '../src/db/logs';
import type { InsertAttempt } from '../src/destinations';
import type { InsertActivityInput, InsertActivityResult } from '../src/temporal/contracts';
import type { ActivityDependencies } from './dependencies';
import { keepHeartbeating } from './heartbeat';
import { announceAttempt, failAttempt, loadExport, secretValues } from './insert-attempt';

/**
 * The one insert activity: loads the export, hands the interval to its destination's `writeInterval`, heartbeats
 * whatever the destination last reported, and records a failed attempt where the user looks. The names of the
 * per-destination activities that came before it stay registered as aliases (activities/index.ts): export workflows
 * started by an earlier version schedule them by those names.
 */
export function createInsertActivities({ pool, sourcePool, config }: ActivityDependencies) {
  const settings = {
    s3: config.s3,
    source: config.source,
    postgresDestination: config.postgresDestination,
    formats: config.formats,
    destinationAccess: config.destinationAccess,
  };
  const loggerFor = (input: InsertActivityInput): InsertAttempt<unknown>['log'] => {
    const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
    return (level, message) => writeLog(pool, { ...entry, level, message });
  };

  return {
    async insertIntoDestination(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      const fields = { batch_export_id: input.batchExportId, run_id: input.runId };
      let secrets: string[] = [];
      let type = 'destination';
      try {
        const loaded = await loadExport(pool, config.encryptionKey, input.batchExportId);
        const { batchExport, destination } = loaded;
        type = batchExport.destination.type;
        secrets = secretValues(loaded.config, destination.maskedFields ?? destination.secretFields);
        const description = `${batchExport.model} ${destination.describe(loaded.config)}`;
        await announceAttempt(pool, context, input, description);
        // Beats on a timer as well as on progress, so that only a dead worker misses the heartbeat timeout. Until
        // the destination reports, the previous attempt's details are carried forward, not lost.
        let latest: unknown = context.info.heartbeatDetails;
        const stopHeartbeating = keepHeartbeating(context, () => latest);
        try {
          return await destination.writeInterval({
            input,
            batchExport,
            config: loaded.config,
            number: context.info.attempt,
            heartbeatDetails: context.info.heartbeatDetails,
            signal: context.cancellationSignal,
            heartbeat: (details) => {
              latest = details;
              context.heartbeat(details);
            },
            pool,
            sourcePool,
            settings,
            log: loggerFor(input),
          });
        } finally {
          stopHeartbeating();
        }
      } catch (error) {
        const failure = await failAttempt(pool, context, input, error, secrets);
        log.warn(`${type} export attempt failed`, { ...fields, error: failure.message });
        throw failure;
      }
    },

    /**
     * Runs the destination's clean-up after a run failed for good or was cancelled (S3: aborts the interval's
     * unfinished multipart uploads); nothing for destinations without one.
     */
    async cleanUpAfterFailedInsert(input: InsertActivityInput): Promise<void> {
      const {
        batchExport,
        destination,
        config: destinationConfig,
      } = await loadExport(pool, config.encryptionKey, input.batchExportId);
      await destination.cleanUpAfterFailure?.({
        input,
        batchExport,
        config: destinationConfig,
        signal: new AbortController().signal,
        pool,
        sourcePool,
        settings,
        log: loggerFor(input),
      });
    },
  };
}
