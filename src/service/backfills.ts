import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { parseBackfillRange, type BackfillRange } from '../backfills/request';
import type { Config } from '../config';
import { listWorkflowRunsPage, type WorkflowRunsPageQuery } from '../db/backfill-workflow-runs';
import {
  activeBackfills,
  activeBackfillsOfTeam,
  countActiveBackfills,
  deleteBackfill,
  finishBackfill,
  getBackfill,
  insertBackfill,
  listUnstartedBackfills,
  markBackfillWorkflowStarted,
  type BackfillRecord,
} from '../db/backfills';
import { findBatchExport, type BatchExportRecord, type Queryable } from '../db/batch-exports';
import { writeLog } from '../db/logs';
import { withTransaction } from '../db/transaction';
import { errorMessage, NotFoundError, ValidationError } from '../errors';
import { isUuid } from '../ids';
import { dataIntervalStart, isoSeconds } from '../intervals';
import { ACTIVE_STATUSES } from '../statuses';
import { taskQueueFor, workflowTypeFor } from '../temporal/schedules';
import { carriedSchedule, type BackfillWorkflowInput } from '../temporal/contracts';
import { stillRunning } from './reconcile-backfills';
import { requireBatchExport, withTemporalDeadline } from './batch-exports';
import { requireRun } from './runs';
import { temporalFailure, TemporalUnavailableError } from './temporal-sync';
import { backfillUiOptions, runSearchAttributes } from '../temporal-ui/search-attributes';

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

/**
 * Validates a backfill request (docs/design.md §7) and starts it. Every interval of the range is exported again, replacing what the
 * destination holds for it, unless the request says `skip_exported`.
 */
export async function createBackfill(
  deps: BackfillDependencies,
  input: { teamId: number; batchExportId: string; body: unknown; now?: Date },
): Promise<BackfillRecord> {
  const batchExport = await requireBatchExport(deps.pool, input.batchExportId, [input.teamId]);
  return backfillExport(deps, batchExport, input.body, input.now);
}

/** createBackfill for an export the caller has already looked up (and checked the team of). */
export async function backfillExport(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  body: unknown,
  now: Date = new Date(),
): Promise<BackfillRecord> {
  const { reexportCompleted, ...range } = parseBackfillRange(
    batchExport,
    body,
    now,
    deps.config.backfills.maxIntervals,
  );
  return startBackfill(deps, batchExport, range, { reexportCompleted });
}

/** Stores the backfill as Starting and starts its workflow. A workflow that cannot be started leaves no row. */
export async function startBackfill(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  range: BackfillRange,
  options: { reexportCompleted: boolean },
): Promise<BackfillRecord> {
  const backfill = await withTransaction(deps.pool, (tx) => reserveBackfill(deps, tx, batchExport, range, options));
  try {
    await startBackfillWorkflow(deps, batchExport, backfill);
  } catch (error) {
    await deleteBackfill(deps.pool, backfill.id);
    throw error;
  }
  return backfill;
}

/**
 * Starts the workflow of a backfill reserved (and committed) before: its first activity updates the row, which it
 * must see. Then records that it started, so that the reconciler does not start it again.
 */
export async function startBackfillWorkflow(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  backfill: BackfillRecord,
  options: { repair?: boolean } = {},
): Promise<void> {
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.workflow.start(BACKFILL_WORKFLOW_TYPE, {
        workflowId: backfill.workflow_id!,
        taskQueue: taskQueueFor(deps.config.temporal, batchExport),
        args: [workflowInput(deps, batchExport, backfill)],
        // The same range backfilled again gets the same workflow id. An execution still open under it belongs to a
        // backfill whose row is already final (no active backfill overlaps this one), winding down: replace it. A
        // repair keeps an open one instead: it is this backfill's own, started by a request that then died.
        workflowIdConflictPolicy: options.repair ? 'USE_EXISTING' : 'TERMINATE_EXISTING',
        ...backfillUiOptions(batchExport, backfill),
      }),
    );
  } catch (error) {
    throw temporalFailure('start the backfill', error);
  }
  // Not worth failing for: the workflow runs either way, and the reconciler's repair of an unmarked one is a start
  // that keeps the running execution (USE_EXISTING) and marks it.
  await markBackfillWorkflowStarted(deps.pool, backfill.id).catch(() => undefined);
}

/** Longer than a request takes from committing a backfill to starting its workflow (Temporal's deadline is 10 s). */
export const WORKFLOW_START_GRACE_MS = 60_000;

/**
 * Starts the workflows of backfills that were committed but never started (the process died between the commit and
 * the start, or Temporal failed just then), once they are older than `graceMs`. One whose export is gone, or whose
 * start Temporal refuses, is marked Failed, saying why; one that cannot be started because Temporal is unreachable
 * is tried again on the next pass. Returns how many it started.
 */
export async function startUnstartedBackfills(
  deps: BackfillDependencies & { logger?: { warn(fields: object, message: string): void } },
  options: { limit: number; graceMs?: number },
): Promise<number> {
  const backfills = await listUnstartedBackfills(deps.pool, {
    olderThanMs: options.graceMs ?? WORKFLOW_START_GRACE_MS,
    limit: options.limit,
  });
  let started = 0;
  for (const backfill of backfills) {
    const batchExport = await findBatchExport(deps.pool, backfill.batch_export_id, [backfill.team_id]);
    if (!batchExport) {
      await failUnstarted(deps.pool, backfill, 'its batch export no longer exists');
      continue;
    }
    try {
      await startBackfillWorkflow(deps, batchExport, backfill, { repair: true });
      started++;
      deps.logger?.warn({ backfill_id: backfill.id }, 'Started the workflow of a backfill its request did not start');
    } catch (error) {
      if (error instanceof TemporalUnavailableError) throw error;
      await failUnstarted(deps.pool, backfill, errorMessage(error));
    }
  }
  return started;
}

async function failUnstarted(pool: Pool, backfill: BackfillRecord, why: string): Promise<void> {
  const latestError = `The backfill's workflow could not be started: ${why}`;
  if (await finishBackfill(pool, backfill.id, { status: 'Failed', latestError })) {
    await writeLog(pool, {
      teamId: backfill.team_id,
      batchExportId: backfill.batch_export_id,
      backfillId: backfill.id,
      level: 'ERROR',
      message: `Backfill failed: ${latestError}`,
    });
  }
}

/** Takes the team's backfill lock, held until the transaction ends: see reserveBackfill. */
export async function lockTeamBackfills(client: PoolClient, teamId: number): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('batch_export_backfills', $1::bigint))`, [teamId]);
}

/**
 * Inserts the backfill row if the team's limit and the overlap check allow it, in the caller's transaction. Both run
 * under a per-team lock held until that transaction ends, so two requests at once cannot both pass them.
 */
export async function reserveBackfill(
  deps: BackfillDependencies,
  client: PoolClient,
  batchExport: BatchExportRecord,
  range: BackfillRange,
  options: { reexportCompleted: boolean },
): Promise<BackfillRecord> {
  const limit = deps.config.backfills.maxActivePerTeam;
  await lockTeamBackfills(client, batchExport.team_id);
  if ((await countActiveBackfills(client, batchExport.team_id)) >= limit) {
    // Only at the limit is it worth asking Temporal whether they all still run.
    const active = await stillRunning(deps, await activeBackfillsOfTeam(client, batchExport.team_id));
    if (active.length >= limit) {
      throw new TooManyBackfillsError(
        `This project already has ${limit} backfills running: wait for one to finish or cancel one`,
      );
    }
  }
  const [overlapping] = await stillRunning(deps, await activeBackfills(client, batchExport.id, range));
  if (overlapping) {
    const from = overlapping.start_at?.toISOString() ?? 'its earliest data';
    throw new ValidationError(
      `A backfill of this export from ${from} to ${overlapping.end_at?.toISOString()} is already ${overlapping.status} (id ${overlapping.id}) and overlaps this range: wait for it to finish or cancel it`,
      'start_at',
      'overlapping_backfill',
    );
  }
  return insertBackfill(client, {
    teamId: batchExport.team_id,
    batchExportId: batchExport.id,
    startAt: range.startAt,
    endAt: range.endAt,
    workflowId: backfillWorkflowId(batchExport.id, range),
    reexportCompleted: options.reexportCompleted,
  });
}

/** Everything the workflow needs, fixed now: a later change to the export does not change a running backfill. */
function workflowInput(
  deps: BackfillDependencies,
  batchExport: BatchExportRecord,
  backfill: BackfillRecord,
): BackfillWorkflowInput {
  return {
    backfillId: backfill.id,
    batchExportId: batchExport.id,
    teamId: batchExport.team_id,
    schedule: carriedSchedule(batchExport),
    startAt: backfill.start_at?.toISOString() ?? null,
    endAt: backfill.end_at!.toISOString(),
    exportWorkflowType: workflowTypeFor(batchExport.destination.type),
    childSearchAttributes: runSearchAttributes(batchExport, backfill.id),
    maxParallelRuns: deps.config.backfills.maxParallelRuns,
    intervalsPerWorkflowRun: deps.config.backfills.intervalsPerWorkflowRun,
    reexportCompleted: backfill.reexport_completed,
  };
}

/** A backfill of the team's export; an active one is checked against Temporal first, so its status is true. */
export async function getBackfillOf(
  deps: Pick<BackfillDependencies, 'pool' | 'temporal'>,
  input: { teamId: number; batchExportId: string; backfillId: string },
): Promise<BackfillRecord> {
  const backfill = isUuid(input.backfillId) ? await getBackfill(deps.pool, input.backfillId, input) : null;
  if (!backfill) throw new NotFoundError('Backfill not found');
  if (!ACTIVE_STATUSES.includes(backfill.status) || (await stillRunning(deps, [backfill])).length > 0) return backfill;
  return (await getBackfill(deps.pool, backfill.id))!;
}

/** A page of a backfill's Temporal workflow runs, read after the backfill's own status is checked (getBackfillOf). */
export async function listBackfillWorkflowRuns(
  deps: Pick<BackfillDependencies, 'pool' | 'temporal'>,
  input: { teamId: number; batchExportId: string } & WorkflowRunsPageQuery,
) {
  const backfill = await getBackfillOf(deps, input);
  return { backfill, page: await listWorkflowRunsPage(deps.pool, { ...input, backfillId: backfill.id }) };
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
  await cancelActiveBackfill(deps, backfill, 'Cancelled by request');
  return (await getBackfill(deps.pool, backfill.id))!;
}

/** Where a cancellation is recorded: the pool, or the connection of a transaction in progress. */
type CancelDependencies = { pool: Queryable } & Pick<BackfillDependencies, 'temporal'>;

/**
 * Cancels every active backfill of an export (it was paused by its failures, or deleted), saying why. Inside a
 * transaction, pass its connection as `pool`: asking the pool for a second connection while holding one deadlocks
 * once as many callers as the pool has connections do the same.
 */
export async function cancelActiveBackfills(
  deps: CancelDependencies,
  batchExportId: string,
  reason: string,
): Promise<number> {
  const backfills = await activeBackfills(deps.pool, batchExportId);
  for (const backfill of backfills) await cancelActiveBackfill(deps, backfill, reason);
  return backfills.length;
}

/** Cancels one backfill (its workflow, then its row), saying why in its log. */
export async function cancelActiveBackfill(
  deps: CancelDependencies,
  backfill: BackfillRecord,
  reason: string,
): Promise<void> {
  if (backfill.workflow_id) {
    try {
      await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(backfill.workflow_id!).cancel());
    } catch (error) {
      // Already finished in Temporal: recording the status below is all that is left to do.
      if (!(error instanceof WorkflowNotFoundError)) {
        throw temporalFailure('cancel the backfill', error);
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
  batchExport: BatchExportRecord,
  runId: string,
): Promise<BackfillRecord> {
  const run = await requireRun(deps, batchExport.id, runId);
  if (ACTIVE_STATUSES.includes(run.status)) {
    throw new ValidationError(`The run is still ${run.status}: only a finished run can be retried`, null, 'run_active');
  }
  const endAt = run.data_interval_end;
  const startAt = run.data_interval_start ?? dataIntervalStart(endAt, batchExport.interval, batchExport.timezone);
  return startBackfill(deps, batchExport, { startAt, endAt }, { reexportCompleted: true });
}
