import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { countScheduledIntervals } from '../backfills/intervals';
import { parseBackfillRange, type BackfillRange } from '../backfills/request';
import type { Config } from '../config';
import {
  activeBackfills,
  countActiveBackfills,
  deleteBackfill,
  finishBackfill,
  getBackfill,
  insertBackfill,
  listBackfills as listBackfillRows,
  type BackfillRecord,
} from '../db/backfills';
import { getBatchExport, type BatchExportRecord } from '../db/batch-exports';
import { writeLog } from '../db/logs';
import { getRun } from '../db/runs';
import { errorMessage, NotFoundError, ValidationError } from '../errors';
import { dataIntervalStart, isoSeconds } from '../intervals';
import { ACTIVE_STATUSES } from '../statuses';
import { workflowTypeFor } from '../temporal/schedules';
import type { BackfillWorkflowInput } from '../../workflows/types';
import { TemporalUnavailableError, withTemporalDeadline } from './batch-exports';

export interface BackfillDependencies {
  pool: Pool;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'backfills'>;
}

/** The team already runs as many backfills as it may: the API answers 429. */
export class TooManyBackfillsError extends Error {
  override name = 'TooManyBackfillsError';
}

export const BACKFILL_WORKFLOW_TYPE = 'backfill-batch-export';

/** `{batch_export_id}-Backfill-{start_at|START}-{end_at|END}`, readable in the Temporal UI. */
export function backfillWorkflowId(batchExportId: string, range: { startAt: Date | null; endAt: Date | null }): string {
  const start = range.startAt ? isoSeconds(range.startAt) : 'START';
  const end = range.endAt ? isoSeconds(range.endAt) : 'END';
  return `${batchExportId}-Backfill-${start}-${end}`;
}

/** Validates a backfill request (SPEC.md section 7) and starts it. */
export async function createBackfill(
  deps: BackfillDependencies,
  input: { teamId: number; batchExportId: string; body: unknown; now?: Date },
): Promise<BackfillRecord> {
  const batchExport = await exportOrNotFound(deps, input.teamId, input.batchExportId);
  const range = parseBackfillRange(batchExport, input.body, input.now ?? new Date());
  return startBackfill(deps, batchExport, range, { reexportCompleted: false });
}

/**
 * Stores the backfill as Starting and starts its workflow. The per-team limit and the overlap check run under a
 * per-team lock, so two requests at once cannot both pass them. A workflow that cannot be started leaves no row.
 */
export async function startBackfill(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  range: BackfillRange,
  options: { reexportCompleted: boolean },
): Promise<BackfillRecord> {
  const workflowId = backfillWorkflowId(batchExport.id, range);
  const client = await deps.pool.connect();
  let backfill: BackfillRecord;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('batch_export_backfills', $1::bigint))`, [
      batchExport.team_id,
    ]);
    if ((await countActiveBackfills(client, batchExport.team_id)) >= deps.config.backfills.maxActivePerTeam) {
      throw new TooManyBackfillsError(
        `This project already has ${deps.config.backfills.maxActivePerTeam} backfills running: wait for one to finish or cancel one`,
      );
    }
    const [overlapping] = await activeBackfills(client, batchExport.id, range);
    if (overlapping) {
      throw new ValidationError(
        `A backfill of this export from ${overlapping.start_at?.toISOString() ?? 'its earliest data'} to ${overlapping.end_at?.toISOString()} is already ${overlapping.status} (id ${overlapping.id}) and overlaps this range: wait for it to finish or cancel it`,
        'start_at',
        'overlapping_backfill',
      );
    }
    backfill = await insertBackfill(client, {
      teamId: batchExport.team_id,
      batchExportId: batchExport.id,
      startAt: range.startAt,
      endAt: range.endAt,
      workflowId,
    });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }

  const workflowInput: BackfillWorkflowInput = {
    backfillId: backfill.id,
    batchExportId: batchExport.id,
    teamId: batchExport.team_id,
    schedule: {
      interval: batchExport.interval,
      timezone: batchExport.timezone,
      offsetHour: batchExport.offset_hour,
      offsetDay: batchExport.offset_day,
      startAt: batchExport.start_at?.toISOString() ?? null,
      endAt: batchExport.end_at?.toISOString() ?? null,
    },
    startAt: range.startAt?.toISOString() ?? null,
    endAt: range.endAt.toISOString(),
    exportWorkflowType: workflowTypeFor(batchExport.destination.type),
    maxParallelRuns: deps.config.backfills.maxParallelRuns,
    intervalsPerWorkflowRun: deps.config.backfills.intervalsPerWorkflowRun,
    reexportCompleted: options.reexportCompleted,
  };
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.workflow.start(BACKFILL_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: deps.config.temporal.taskQueue,
        args: [workflowInput],
      }),
    );
  } catch (error) {
    await deleteBackfill(deps.pool, backfill.id);
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ValidationError(
        'An earlier backfill of the same range is still shutting down in Temporal: try again in a few seconds',
        'start_at',
        'overlapping_backfill',
      );
    }
    throw new TemporalUnavailableError(`Could not start the backfill in Temporal: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return backfill;
}

export async function getBackfillOf(
  deps: Pick<BackfillDependencies, 'pool'>,
  input: { teamId: number; batchExportId: string; backfillId: string },
): Promise<BackfillRecord> {
  const backfill = UUID.test(input.backfillId) ? await getBackfill(deps.pool, input.backfillId, input) : null;
  if (!backfill) throw new NotFoundError('Backfill not found');
  return backfill;
}

/** A page of an export's backfills, newest first, and the cursor of the next page (null on the last). */
export async function listBackfills(
  deps: Pick<BackfillDependencies, 'pool'>,
  input: { teamId: number; batchExportId: string; cursor?: string | null; limit?: number },
): Promise<{ results: BackfillRecord[]; nextCursor: string | null }> {
  await exportOrNotFound(deps, input.teamId, input.batchExportId);
  const limit = Math.min(Math.max(input.limit ?? 100, 1), 1000);
  const beforeId = input.cursor ? decodeCursor(input.cursor) : null;
  const rows = await listBackfillRows(deps.pool, { ...input, beforeId, limit: limit + 1 });
  const results = rows.slice(0, limit);
  return { results, nextCursor: rows.length > limit ? encodeCursor(results[results.length - 1]!.id) : null };
}

/** Cancels a backfill and, through its workflow, the runs it started: their status becomes Cancelled. */
export async function cancelBackfill(
  deps: Pick<BackfillDependencies, 'pool' | 'temporal'>,
  input: { teamId: number; batchExportId: string; backfillId: string },
): Promise<BackfillRecord> {
  const backfill = await getBackfillOf(deps, input);
  if (!ACTIVE_STATUSES.includes(backfill.status)) {
    throw new ValidationError(
      `The backfill is already ${backfill.status}: only an active backfill can be cancelled`,
      null,
      'not_active',
    );
  }
  await cancelOne(deps, backfill, 'Cancelled by request');
  return (await getBackfill(deps.pool, backfill.id))!;
}

/** Cancels every active backfill of an export (it was paused by its failures, or deleted), saying why. */
export async function cancelActiveBackfills(
  deps: Pick<BackfillDependencies, 'pool' | 'temporal'>,
  batchExportId: string,
  reason: string,
): Promise<number> {
  const backfills = await activeBackfills(deps.pool, batchExportId);
  for (const backfill of backfills) await cancelOne(deps, backfill, reason);
  return backfills.length;
}

async function cancelOne(
  deps: Pick<BackfillDependencies, 'pool' | 'temporal'>,
  backfill: BackfillRecord,
  reason: string,
): Promise<void> {
  if (backfill.workflow_id) {
    try {
      await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(backfill.workflow_id!).cancel());
    } catch (error) {
      // Already finished in Temporal: recording the status below is all that is left to do.
      if (!(error instanceof WorkflowNotFoundError)) {
        throw new TemporalUnavailableError(`Could not cancel the backfill in Temporal: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
  }
  // Recorded now, not when the workflow gets to it: the user sees Cancelled at once, and the workflow's own finish
  // cannot overwrite a final status.
  const finished = await finishBackfill(deps.pool, backfill.id, { status: 'Cancelled', latestError: reason });
  if (finished) {
    await writeLog(deps.pool, {
      teamId: backfill.team_id,
      batchExportId: backfill.batch_export_id,
      backfillId: backfill.id,
      level: 'WARNING',
      message: `Backfill cancelled: ${reason}`,
    });
  }
}

/** Retrying a run = a backfill of its one interval, exported again even if it completed. */
export async function retryRun(
  deps: BackfillDependencies,
  input: { teamId: number; batchExportId: string; runId: string },
): Promise<BackfillRecord> {
  const batchExport = await exportOrNotFound(deps, input.teamId, input.batchExportId);
  const run = UUID.test(input.runId) ? await getRun(deps.pool, input.runId) : null;
  if (!run || run.batch_export_id !== batchExport.id) throw new NotFoundError('Run not found');
  if (ACTIVE_STATUSES.includes(run.status)) {
    throw new ValidationError(`The run is still ${run.status}: only a finished run can be retried`, null, 'run_active');
  }
  const endAt = run.data_interval_end;
  const startAt = run.data_interval_start ?? dataIntervalStart(endAt, batchExport.interval, batchExport.timezone);
  return startBackfill(deps, batchExport, { startAt, endAt }, { reexportCompleted: true });
}

/**
 * Backfills what an export missed while it was paused (unpause with {"backfill": true}): the intervals ending after
 * it was paused, up to now. Null when it missed none. Call it before the export's pause fields are cleared.
 */
export async function backfillPausedPeriod(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  now: Date = new Date(),
): Promise<BackfillRecord | null> {
  const startAt = batchExport.last_paused_at;
  if (!startAt || countScheduledIntervals(batchExport, startAt, now) === 0) return null;
  return startBackfill(deps, batchExport, { startAt, endAt: now }, { reexportCompleted: false });
}

async function exportOrNotFound(
  deps: Pick<BackfillDependencies, 'pool'>,
  teamId: number,
  batchExportId: string,
): Promise<BatchExportRecord> {
  const batchExport = UUID.test(batchExportId) ? await getBatchExport(deps.pool, batchExportId, teamId) : null;
  if (!batchExport) throw new NotFoundError('Batch export not found');
  return batchExport;
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID.test(id)) throw new ValidationError('Invalid pagination cursor', 'cursor');
  return id;
}
