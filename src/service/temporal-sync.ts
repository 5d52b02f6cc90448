import {
  isGrpcServiceError,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import type { Config } from '../config';
import type { BatchExportRecord } from '../db/batch-exports';
import { withTransaction } from '../db/transaction';
import { errorMessage, NotFoundError, ValidationError } from '../errors';
import { scheduleOptions, taskQueueFor } from '../temporal/schedules';

/** Temporal could not be reached or failed: the request failed as a whole and nothing was kept. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that are the request's fault.
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

/**
 * The error a failed Temporal call becomes for the client: what Temporal refused as invalid is a ValidationError
 * (400), what it does not have a NotFoundError (404), anything else (unreachable, deadline, internal) a
 * TemporalUnavailableError (503). `what` says what could not be done.
 */
export function temporalFailure(what: string, error: unknown): Error {
  if (error instanceof ScheduleNotFoundError || error instanceof WorkflowNotFoundError) {
    return new NotFoundError(
      `Could not ${what}: Temporal has no such ${error instanceof ScheduleNotFoundError ? 'schedule' : 'workflow'}`,
    );
  }
  const status = grpcError(error) ?? sdkArgumentError(error);
  if (status?.code === NOT_FOUND) return new NotFoundError(`Could not ${what}: ${status.details}`);
  if (status?.code === INVALID_ARGUMENT) {
    // Temporal names no field; a timezone is the one a client can get past our own checks into Temporal's.
    const attr = /time ?zone/i.test(status.details) ? 'timezone' : null;
    return new ValidationError(`Temporal refused to ${what}: ${status.details}`, attr, 'invalid_input');
  }
  return new TemporalUnavailableError(`Could not ${what} in Temporal: ${errorMessage(error)}`, { cause: error });
}

/**
 * The SDK rethrows Temporal's INVALID_ARGUMENT "Invalid schedule spec: ..." as a TypeError from its own code (not
 * from ours: a TypeError of our making is a bug, and stays a 5xx).
 */
function sdkArgumentError(error: unknown): { code: number; details: string } | undefined {
  if (!(error instanceof TypeError)) return undefined;
  const thrownBy = error.stack?.split('\n')[1] ?? '';
  return /@temporalio[\\/]client/.test(thrownBy) ? { code: INVALID_ARGUMENT, details: error.message } : undefined;
}

/** The gRPC error along the error's causes (the SDK wraps it), if Temporal answered at all. */
function grpcError(error: unknown): { code: number; details: string } | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (isGrpcServiceError(cause)) return { code: cause.code, details: cause.details || cause.message };
  }
  return undefined;
}

/** How long a request waits on Temporal before it fails with a clear error instead of hanging. */
const TEMPORAL_DEADLINE_MS = 10_000;

export function withTemporalDeadline<T>(
  temporal: Client,
  fn: () => Promise<T>,
  deadlineMs: number = TEMPORAL_DEADLINE_MS,
): Promise<T> {
  return temporal.withDeadline(Date.now() + deadlineMs, fn);
}

/** The schedule's note: fixed, or derived from the note it had (undefined when it is being recreated). */
export type ScheduleNote = string | undefined | ((previousNote?: string) => string | undefined);

export interface SyncDependencies {
  pool: Pool;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'schedule'>;
  /** How long one Temporal call may take before the request fails with a 503 (10 seconds by default). */
  temporalDeadlineMs?: number;
  /** Where a failed undo is reported: the one case where Postgres and Temporal may disagree until repaired. */
  logger?: { error(fields: object, message: string): void };
}

/**
 * The Temporal side of one request. Every change is made within the deadline and remembers how to undo itself, so
 * that a request failing after Temporal changed (a later Temporal call, the commit) puts Temporal back as it was.
 */
export class TemporalChanges {
  private readonly undos: Array<{ what: string; undo: () => Promise<unknown> }> = [];

  constructor(private readonly deps: SyncDependencies) {}

  /** Makes one change; a failure becomes the error `temporalFailure` chooses, saying what could not be done. */
  async apply<T>(what: string, change: () => Promise<T>, undo?: () => Promise<unknown>): Promise<T> {
    try {
      const result = await withTemporalDeadline(this.deps.temporal, change, this.deps.temporalDeadlineMs);
      if (undo) this.undos.push({ what, undo });
      return result;
    } catch (error) {
      throw temporalFailure(what, error);
    }
  }

  /** Reverts the changes made so far, newest first. Best effort: a failure is logged, not thrown. */
  async undo(): Promise<void> {
    for (const { what, undo } of this.undos.reverse()) {
      await withTemporalDeadline(this.deps.temporal, undo, this.deps.temporalDeadlineMs).catch((error: unknown) =>
        this.deps.logger?.error({ err: errorMessage(error), change: what }, 'Could not undo a Temporal change'),
      );
    }
  }

  /**
   * Makes the export's schedule match `batchExport`, recreating it if it went missing. Undone by restoring the
   * schedule of `previous` (the export before this request), note included.
   */
  async syncSchedule(batchExport: BatchExportRecord, previous: BatchExportRecord, note: ScheduleNote): Promise<void> {
    const handle = this.deps.temporal.schedule.getHandle(batchExport.id);
    let previousNote: string | undefined;
    let recreated = false;
    const change = async () => {
      try {
        await handle.update((description) => {
          previousNote = description.state.note;
          return this.updateOptions(batchExport, typeof note === 'function' ? note(previousNote) : note);
        });
      } catch (error) {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
        // The schedule went missing (deleted by hand, say): the export says it should exist, so repair it.
        await this.deps.temporal.schedule.create(this.options(batchExport, typeof note === 'function' ? note() : note));
        recreated = true;
      }
    };
    const undo = () => (recreated ? handle.delete() : handle.update(() => this.updateOptions(previous, previousNote)));
    await this.apply('update the schedule', change, undo);
  }

  /** The whole schedule of an export, as created. */
  options(batchExport: BatchExportRecord, note: string | undefined): ScheduleOptions {
    return scheduleOptions(batchExport, {
      taskQueue: taskQueueFor(this.deps.config.temporal, batchExport),
      catchupWindowSeconds: this.deps.config.schedule.catchupWindowSeconds,
      note,
    });
  }

  private updateOptions(batchExport: BatchExportRecord, note: string | undefined): ScheduleUpdateOptions {
    const options: Partial<ScheduleOptions> = this.options(batchExport, note);
    delete options.scheduleId;
    return options as ScheduleUpdateOptions;
  }

  /** Requests cancellation of a workflow; one that already finished or never existed needs none. */
  async cancelWorkflow(workflowId: string): Promise<void> {
    await this.apply(`cancel workflow ${workflowId}`, async () => {
      try {
        await this.deps.temporal.workflow.getHandle(workflowId).cancel();
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    });
  }
}

/**
 * Runs `work` in a Postgres transaction that stays open while it changes Temporal: if anything fails (Temporal, a
 * query, the commit), the transaction rolls back and the Temporal changes are undone, so neither side keeps half.
 */
export async function changeConsistently<T>(
  deps: SyncDependencies,
  work: (tx: PoolClient, temporal: TemporalChanges) => Promise<T>,
): Promise<T> {
  const changes = new TemporalChanges(deps);
  try {
    return await withTransaction(deps.pool, (tx) => work(tx, changes));
  } catch (error) {
    await changes.undo();
    throw error;
  }
}
