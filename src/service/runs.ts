import { finishRun, getRun, type RunRecord } from '../db/runs';
import { NotFoundError, ValidationError } from '../errors';
import { isUuid } from '../ids';
import { ACTIVE_STATUSES } from '../statuses';
import type { ServiceDependencies } from './batch-exports';
import { TemporalChanges } from './temporal-sync';

/** A run of the given export, or NotFoundError. */
export async function requireRun(deps: Pick<ServiceDependencies, 'pool'>, batchExportId: string, runId: string) {
  const run = isUuid(runId) ? await getRun(deps.pool, runId) : null;
  if (!run || run.batch_export_id !== batchExportId) throw new NotFoundError('Run not found');
  return run;
}

/**
 * Cancels an active run: its workflow is cancelled in Temporal first (a 503 if Temporal is down leaves the run as it
 * was), then the run is marked Cancelled. The workflow, finishing later, keeps that status.
 */
export async function cancelRun(
  deps: ServiceDependencies,
  batchExportId: string,
  runId: string,
  actor: string,
): Promise<RunRecord> {
  const run = await requireRun(deps, batchExportId, runId);
  if (!ACTIVE_STATUSES.includes(run.status)) {
    throw new ValidationError(
      `The run is already ${run.status}: only Starting or Running runs can be cancelled`,
      null,
      'run_not_active',
    );
  }
  await new TemporalChanges(deps).cancelWorkflow(run.workflow_id);
  const cancelled = await finishRun(deps.pool, { runId, status: 'Cancelled', latestError: `Cancelled by ${actor}` });
  // Null when the run finished on its own between the two steps: its own final status stands.
  return cancelled ?? (await requireRun(deps, batchExportId, runId));
}
