import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { getBatchExport, setBatchExportPaused } from '../db/batch-exports';
import { writeLog } from '../db/logs';
import { latestOutcomes } from '../db/runs';
import { withTransaction } from '../db/transaction';
import { cancelActiveBackfills } from './backfills';
import { pauseNote, requireBatchExport } from './batch-exports';
import { withTemporalDeadline } from './temporal-sync';

/** Who the pause is attributed to, in paused_by and the schedule's note. */
export const AUTO_PAUSE_ACTOR = 'the system, after consecutive failed runs';

/**
 * Pauses an export whose last `threshold` runs all failed: an export that cannot work (revoked credentials, a
 * dropped bucket) stops failing every interval and cancels its backfills, and its log says why. The schedule is
 * paused first, then Postgres under a row lock, so that of several runs failing at once one pauses it and logs.
 * Returns whether this call paused the export. A threshold of 0 never pauses.
 */
export async function pauseAfterConsecutiveFailures(
  deps: { pool: Pool; temporal: Client },
  input: { batchExportId: string; threshold: number },
): Promise<boolean> {
  if (input.threshold <= 0) return false;
  const outcomes = await latestOutcomes(deps.pool, input.batchExportId, input.threshold);
  if (outcomes.length < input.threshold || outcomes.some((run) => run.status === 'Completed')) return false;
  const batchExport = await getBatchExport(deps.pool, input.batchExportId);
  // A paused export was paused by someone on purpose (or by an earlier failure): leave it and its backfills alone.
  if (!batchExport || batchExport.paused) return false;

  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.schedule.getHandle(batchExport.id).pause(pauseNote(true, AUTO_PAUSE_ACTOR)),
    );
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  const paused = await withTransaction(deps.pool, async (tx) => {
    const current = await requireBatchExport(tx, batchExport.id, [batchExport.team_id], { lock: true });
    if (current.paused) return false;
    await setBatchExportPaused(tx, batchExport.id, { paused: true, pausedBy: AUTO_PAUSE_ACTOR });
    return true;
  });
  if (!paused) return false;

  const reason = `Paused after ${input.threshold} failed runs in a row; the last failed with: ${outcomes[0]!.latest_error ?? 'no error recorded'}. Fix the cause, then unpause it (with {"backfill": true} to export what it missed)`;
  await writeLog(deps.pool, {
    teamId: batchExport.team_id,
    batchExportId: batchExport.id,
    level: 'ERROR',
    message: reason,
  });
  await cancelActiveBackfills(
    deps,
    batchExport.id,
    `Cancelled: the batch export was paused after ${input.threshold} failed runs in a row`,
  );
  return true;
}
