import { ScheduleNotFoundError } from '@temporalio/client';
import { markBatchExportDeleted, setBatchExportPaused, type BatchExportRecord } from '../db/batch-exports';
import { finishRun, listActiveRuns } from '../db/runs';
import { backfillPausedPeriod, cancelActiveBackfill, cancelActiveBackfills } from './backfills';
import { pauseNote, requireBatchExport, type ServiceDependencies } from './batch-exports';
import { changeConsistently } from './temporal-sync';

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
 * they are backfilled (from when it was paused to now) as part of the same operation. The backfill starts first,
 * because its workflow needs its row committed; if the unpause then fails, the backfill is cancelled again, so
 * that neither half is kept and a retry of the request starts over.
 */
export async function unpauseBatchExport(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  actor: string,
  options: { backfill?: boolean } = {},
): Promise<BatchExportRecord> {
  const current = await requireBatchExport(deps.pool, id, teamIds);
  const missed = options.backfill && current.paused ? current.last_paused_at : null;
  const backfill = missed ? await backfillPausedPeriod(deps, current, { start: missed, end: new Date() }) : null;
  try {
    return await setPaused(deps, teamIds, id, { paused: false, actor });
  } catch (error) {
    if (backfill) await cancelActiveBackfill(deps, backfill, 'Cancelled: the batch export could not be unpaused');
    throw error;
  }
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
    await setBatchExportPaused(tx, id, change.paused ? { paused: true, pausedBy: change.actor } : { paused: false });
    const updated = await requireBatchExport(tx, id, teamIds);
    await temporal.syncSchedule(updated, current, pauseNote(change.paused, change.actor));
    return updated;
  });
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
