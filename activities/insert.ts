import { Context, log } from '@temporalio/activity';
import { writeLog } from '../src/db/logs';
import type { InsertAttempt } from '../src/destinations';
import { countRowsUpTo } from '../src/models/bounds';
import type { InsertActivityInput, InsertActivityResult, LocalInsertOutcome } from '../src/temporal/contracts';
import type { ActivityDependencies } from './dependencies';
import { keepHeartbeating } from './heartbeat';
import { announceAttempt, failAttempt, loadExport, secretValues, type LoadedExport } from './insert-attempt';
import { InsertSlots } from './insert-slots';

/**
 * The one insert activity: loads the export, hands the interval to its destination's `writeInterval`, heartbeats
 * whatever the destination last reported, and records a failed attempt where the user looks. The names of the
 * per-destination activities that came before it stay registered as aliases (activities/index.ts): export workflows
 * started by an earlier version schedule them by those names. Small intervals to destinations that rewrite an
 * interval whole are inserted by the same code as a local activity (insertSmallIntervalLocally).
 */
export function createInsertActivities({ pool, sourcePool, config }: ActivityDependencies) {
  const settings = {
    s3: config.s3,
    source: config.source,
    postgresDestination: config.postgresDestination,
    formats: config.formats,
    destinationAccess: config.destinationAccess,
  };
  const slots = new InsertSlots(config.worker.maxConcurrentActivities);
  // Temporal's task-queue rate limit counts activity tasks only: local inserts would pass it.
  const localMaxRows = config.worker.maxTaskQueueActivitiesPerSecond ? 0 : config.worker.insertLocallyMaxRows;
  const loggerFor = (input: InsertActivityInput): InsertAttempt<unknown>['log'] => {
    const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
    return (level, message) => writeLog(pool, { ...entry, level, message });
  };

  /**
   * Attempt `number` of the run's insert, with an insert slot held: announces it and has the destination write the
   * interval. The activity heartbeats on a timer as well as on progress, so that only a dead worker misses the
   * heartbeat timeout; until the destination reports, the previous attempt's details are carried forward. A local
   * insert has no heartbeat to send.
   */
  async function write(
    context: Context,
    input: InsertActivityInput,
    number: number,
    loaded: LoadedExport,
    heartbeats: boolean,
  ): Promise<InsertActivityResult> {
    const { batchExport, destination } = loaded;
    await announceAttempt(pool, input, number, `${batchExport.model} ${destination.describe(loaded.config)}`);
    const heartbeatDetails = heartbeats ? context.info.heartbeatDetails : undefined;
    let latest: unknown = heartbeatDetails;
    const stopHeartbeating = heartbeats ? keepHeartbeating(context, () => latest) : () => {};
    try {
      return await destination.writeInterval({
        input,
        batchExport,
        config: loaded.config,
        number,
        heartbeatDetails,
        signal: context.cancellationSignal,
        heartbeat: (details) => {
          latest = details;
          if (heartbeats) context.heartbeat(details);
        },
        pool,
        sourcePool,
        settings,
        log: loggerFor(input),
      });
    } finally {
      stopHeartbeating();
    }
  }

  /**
   * An insert slot for the activity, once local inserts free one. The wait heartbeats the previous attempt's details,
   * so that it is not taken for a dead worker.
   */
  async function waitForSlot(context: Context): Promise<() => void> {
    const stopHeartbeating = keepHeartbeating(context, () => context.info.heartbeatDetails);
    try {
      return await slots.take(context.cancellationSignal);
    } finally {
      stopHeartbeating();
    }
  }

  /** What an attempt threw, recorded (failAttempt) and logged; throw the result. */
  async function failed(
    context: Context,
    input: InsertActivityInput,
    number: number,
    error: unknown,
    loaded: LoadedExport | null,
  ): Promise<Error> {
    const secrets = loaded
      ? secretValues(loaded.config, loaded.destination.maskedFields ?? loaded.destination.secretFields)
      : [];
    const failure = await failAttempt(pool, context, input, number, error, secrets);
    log.warn(`${loaded?.batchExport.destination.type ?? 'destination'} export attempt failed`, {
      batch_export_id: input.batchExportId,
      run_id: input.runId,
      error: failure.message,
    });
    return failure;
  }

  return {
    async insertIntoDestination(input: InsertActivityInput): Promise<InsertActivityResult> {
      const context = Context.current();
      // After a failed local insert, Temporal's attempt 1 is the run's attempt 2.
      const number = context.info.attempt + (input.attemptsBefore ?? 0);
      let loaded: LoadedExport | null = null;
      try {
        loaded = await loadExport(pool, config.encryptionKey, input.batchExportId);
        const release = slots.tryTake() ?? (await waitForSlot(context));
        try {
          return await write(context, input, number, loaded, true);
        } finally {
          release();
        }
      } catch (error) {
        throw await failed(context, input, number, error, loaded);
      }
    },

    /**
     * The run's first attempt, as a local activity inside the workflow task, for an interval small enough to need no
     * heartbeat or saved progress: where the destination rewrites an interval whole on a rerun, a worker dying
     * mid-way costs only the rerun. Anything else is deferred to the insert activity, before anything is announced:
     * local inserts off, no free insert slot, another destination, more than INSERT_LOCALLY_MAX_ROWS raw rows.
     */
    async insertSmallIntervalLocally(input: InsertActivityInput): Promise<LocalInsertOutcome> {
      if (localMaxRows === 0) return { deferred: 'disabled' };
      const release = slots.tryTake();
      if (!release) return { deferred: 'busy' };
      const context = Context.current();
      let loaded: LoadedExport | null = null;
      try {
        loaded = await loadExport(pool, config.encryptionKey, input.batchExportId);
        if (!loaded.destination.rerunsOverwrite) return { deferred: 'destination' };
        const rows = await countRowsUpTo(sourcePool, {
          teamId: input.teamId,
          model: loaded.batchExport.model,
          from: new Date(input.dataIntervalStart),
          until: new Date(input.dataIntervalEnd),
          limit: localMaxRows,
        });
        if (rows > localMaxRows) return { deferred: 'rows' };
        return { inserted: await write(context, input, 1, loaded, false) };
      } catch (error) {
        throw await failed(context, input, 1, error, loaded);
      } finally {
        release();
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
