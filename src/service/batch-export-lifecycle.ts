import { ScheduleNotFoundError } from '@temporalio/client';
import type { PoolClient } from 'pg';
import { hasScheduledInterval } from '../backfills/intervals';
import type { BackfillRecord } from '../db/backfills';
import { markBatchExportDeleted, setBatchExportPaused, type BatchExportRecord } from '../db/batch-exports';
import { finishRun, listActiveRuns } from '../db/runs';
import { errorMessage } from '../errors';
import { cancelActiveBackfills, lockTeamBackfills, reserveBackfill, startBackfillWorkflow } from './backfills';
import { pauseNote, requireBatchExport, type ServiceDependencies } from './batch-exports';
import { changeConsistently, type TemporalChanges } from './temporal-sync';

/**
 * Pauses an export and its schedule, recording who paused and when (also as the schedule's note). Pausing a paused
 * export changes nothing: the first pause keeps its author and time.
 */
export async function pauseBatchExport(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  actor: string,
): Promise<BatchExportRecord> {
  return setPaused(deps, teamIds, id, { paused: true, actor });
}

/**
 * Unpauses an export and its schedule. The intervals missed while paused are not run, unless `backfill` is set: then
 * they are backfilled (from when it was paused to now) as part of the same operation. See unpauseAndReserveBackfill
 * for what is all or nothing; the backfill's workflow is started after the commit.
 */
export async function unpauseBatchExport(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  actor: string,
  options: { backfill?: boolean; now?: Date } = {},
): Promise<BatchExportRecord> {
  const { batchExport, backfill } = await unpauseAndReserveBackfill(deps, teamIds, id, actor, options);
  if (backfill) {
    try {
      await startBackfillWorkflow(deps, batchExport, backfill);
    } catch (error) {
      // The unpause and the reserved backfill are committed: the reconciler starts the workflow after its grace
      // period (startUnstartedBackfills), so the request still succeeded.
      deps.logger?.error(
        { err: errorMessage(error), backfill_id: backfill.id },
        'Could not start the backfill of an unpaused export; the reconciler will',
      );
    }
  }
  return batchExport;
}

/**
 * The committed half of unpauseBatchExport, in one Postgres transaction: the backfill row (reserved, Starting), the
 * export's unpaused state and the schedule's unpause (with the undo log of changeConsistently) are kept or rolled
 * back together. What a process that dies right after the commit leaves behind: the reconciler starts the workflow.
 */
export async function unpauseAndReserveBackfill(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  actor: string,
  options: { backfill?: boolean; now?: Date } = {},
): Promise<{ batchExport: BatchExportRecord; backfill: BackfillRecord | null }> {
  const { team_id: teamId } = await requireBatchExport(deps.pool, id, teamIds);
  return changeConsistently(deps, async (tx, temporal) => {
    // The team's backfill lock before the export's row: the order a backfill request takes them in (inserting its
    // row takes a share lock on the export row, for the foreign key), so the two cannot deadlock.
    if (options.backfill) await lockTeamBackfills(tx, teamId);
    const current = await requireBatchExport(tx, id, teamIds, { lock: true });
    if (!current.paused) return { batchExport: current, backfill: null };
    const missed = { start: current.last_paused_at, end: options.now ?? new Date() };
    const backfill =
      options.backfill && missed.start && hasScheduledInterval(current, missed.start, missed.end)
        ? await reserveBackfill(
            deps,
            tx,
            current,
            { startAt: missed.start, endAt: missed.end },
            { reexportCompleted: false },
          )
        : null;
    const batchExport = await applyPause(tx, temporal, current, { paused: false, actor });
    return { batchExport, backfill };
  });
}

async function setPaused(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  change: { paused: boolean; actor: string },
): Promise<BatchExportRecord> {
  return changeConsistently(deps, async (tx, temporal) => {
    const current = await requireBatchExport(tx, id, teamIds, { lock: true });
    if (current.paused === change.paused) return current;
    return applyPause(tx, temporal, current, change);
  });
}

/** Pauses or unpauses the locked export `current` and its schedule, in the caller's consistent change. */
async function applyPause(
  tx: PoolClient,
  temporal: TemporalChanges,
  current: BatchExportRecord,
  change: { paused: boolean; actor: string },
): Promise<BatchExportRecord> {
  await setBatchExportPaused(
    tx,
    current.id,
    change.paused ? { paused: true, pausedBy: change.actor } : { paused: false },
  );
  const updated = await requireBatchExport(tx, current.id, [current.team_id]);
  await temporal.syncSchedule(updated, current, pauseNote(change.paused, change.actor));
  return updated;
}

/**
 * Soft-deletes an export: deletes its schedule, cancels its active runs and backfills (marking them Cancelled) and
 * hides it from the API. All or nothing: if Temporal fails part way, the schedule is recreated and nothing is kept.
 */
export async function deleteBatchExport(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  actor: string,
): Promise<void> {
  await changeConsistently(deps, async (tx, temporal) => {
    const current = await requireBatchExport(tx, id, teamIds, { lock: true });
    await markBatchExportDeleted(tx, id);
    const schedule = deps.temporal.schedule.getHandle(id);
    await temporal.apply(
      'delete the schedule',
      () => schedule.delete().catch((error: unknown) => ignoreScheduleNotFound(error)),
      () =>
        deps.temporal.schedule.create(
          temporal.options(current, current.paused ? pauseNote(true, current.paused_by ?? actor) : undefined),
        ),
    );
    const reason = `Cancelled: the batch export was deleted by ${actor}`;
    for (const run of await listActiveRuns(tx, id)) {
      await temporal.cancelWorkflow(run.workflow_id);
      await finishRun(tx, { runId: run.id, status: 'Cancelled', latestError: reason });
    }
    // On the transaction's connection: a second one from the pool, while holding this one, deadlocked once as many
    // deletes ran at once as the pool has connections. Last, so that only the commit can fail after a backfill was
    // cancelled in Temporal (its workflow then records Cancelled itself).
    await cancelActiveBackfills({ pool: tx, temporal: deps.temporal }, id, reason);
  });
}

function ignoreScheduleNotFound(error: unknown): void {
  // Already gone (deleted by hand): what this request wanted.
  if (!(error instanceof ScheduleNotFoundError)) throw error;
}
