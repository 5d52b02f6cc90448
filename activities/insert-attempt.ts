import type { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { getBatchExport, getDestinationConfigWithSecrets, type BatchExportRecord } from '../src/db/batch-exports';
import { writeLog } from '../src/db/logs';
import { markRunRunning, recordFailedAttempt, recordSilentAttempt } from '../src/db/runs';
import { destinationOf, isSupportedDestination, type DestinationDefinition } from '../src/destinations';
import { BatchExportError, errorKindHint, errorMessage } from '../src/errors';
import { recordFailedAttempt as countFailedAttempt } from '../src/metrics/worker-metrics';
import type { InsertActivityInput, InsertRetryPolicy } from '../src/temporal/contracts';
import { describeFailure, toActivityFailure } from './failures';

/** The export, its destination and its config (secrets included), parsed by the destination's schema. */
export interface LoadedExport {
  batchExport: BatchExportRecord;
  destination: DestinationDefinition;
  config: Record<string, unknown>;
}

export async function loadExport(pool: Pool, encryptionKey: Buffer, batchExportId: string): Promise<LoadedExport> {
  const batchExport = await getBatchExport(pool, batchExportId);
  const stored = await getDestinationConfigWithSecrets(pool, encryptionKey, batchExportId);
  if (!batchExport || !stored) {
    throw new BatchExportError(`Batch export ${batchExportId} does not exist or was deleted`, {
      kind: 'configuration',
    });
  }
  if (!isSupportedDestination(stored.type)) {
    throw new BatchExportError(`Destination type ${stored.type} is not supported by this worker`, {
      kind: 'configuration',
    });
  }
  const destination = destinationOf(stored.type);
  const parsed = destination.configSchema.safeParse(stored.config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BatchExportError(
      `The ${stored.type} destination's config is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      { kind: 'configuration' },
    );
  }
  return { batchExport, destination, config: parsed.data };
}

/**
 * Marks the run Running and writes the log lines the user sees when attempt `attempt` of the run starts (WARNING on
 * a retry). The run's attempts count a failed local insert too (InsertActivityInput.attemptsBefore).
 */
export async function announceAttempt(
  pool: Pool,
  input: InsertActivityInput,
  attempt: number,
  description: string,
): Promise<void> {
  const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
  if (attempt > 1) {
    // An attempt whose worker died (or lost contact) ran no catch, so failAttempt recorded nothing for it.
    const previous = attempt - 1;
    const silent = `Attempt ${previous} stopped without reporting an error: its worker stopped or lost contact with Temporal (no heartbeat within the heartbeat timeout)`;
    if (await recordSilentAttempt(pool, { runId: input.runId, attempt: previous, latestError: silent })) {
      await writeLog(pool, { ...entry, level: 'WARNING', message: silent });
    }
    await writeLog(pool, {
      ...entry,
      level: 'WARNING',
      message: `Retrying the export (attempt ${attempt})`,
    });
  }
  await markRunRunning(pool, input.runId, attempt);
  await writeLog(pool, {
    ...entry,
    level: 'INFO',
    message: `Exporting ${description} inserted from ${input.dataIntervalStart} to ${input.dataIntervalEnd}`,
  });
}

/**
 * Turns what an insert attempt threw into its activity failure (throw the result). A failure that will be retried
 * is first recorded where the user looks: the run's `latest_error` (the message and what its kind means), its
 * attempt and when the next one starts, and one WARNING log line. A failure that ends the run is recorded by
 * finishBatchExportRun. Recording is best effort: the metadata database being down must not hide the failure.
 */
export async function failAttempt(
  pool: Pool,
  context: Context,
  input: InsertActivityInput,
  attempt: number,
  error: unknown,
  secrets: readonly string[],
): Promise<Error> {
  const failure = toActivityFailure(error, secrets);
  const described = describeFailure(error, secrets);
  if (!context.cancellationSignal.aborted) countFailedAttempt(described.kind);
  if (!described.retryable || context.cancellationSignal.aborted) return failure;
  const nextAttemptAt = nextAttemptStart(input.retryPolicy, attempt, new Date());
  const latestError = `${described.message} (${errorKindHint(described.kind)})`;
  const maximum = input.retryPolicy ? ` of ${input.retryPolicy.maximumAttempts}` : '';
  const next = nextAttemptAt ? `next attempt at ${nextAttemptAt.toISOString()}` : 'no attempt left';
  try {
    await recordFailedAttempt(pool, { runId: input.runId, attempt, nextAttemptAt, latestError });
    await writeLog(pool, {
      teamId: input.teamId,
      batchExportId: input.batchExportId,
      runId: input.runId,
      level: 'WARNING',
      message: `Attempt ${attempt}${maximum} failed: ${latestError}; ${next}`,
    });
  } catch (recordError) {
    context.log.warn('Could not record the failed attempt', {
      batch_export_id: input.batchExportId,
      run_id: input.runId,
      error: errorMessage(recordError),
    });
  }
  return failure;
}

/**
 * When Temporal starts the attempt after `attempt` failed: the retry policy's backoff, `initial * coefficient^(n-1)`
 * capped at the maximum interval. Null when no attempt is left, or the policy is unknown (an older run).
 */
export function nextAttemptStart(policy: InsertRetryPolicy | undefined, attempt: number, now: Date): Date | null {
  if (!policy || (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts)) return null;
  const delay = Math.min(
    policy.initialIntervalMs * policy.backoffCoefficient ** (attempt - 1),
    policy.maximumIntervalMs,
  );
  return new Date(now.getTime() + delay);
}

/** The values of a destination config's secret fields, to be masked in whatever a failed attempt records. */
export function secretValues(config: object, fields: readonly string[]): string[] {
  return Object.entries(config)
    .filter(([field, value]) => fields.includes(field) && typeof value === 'string')
    .map(([, value]) => value as string);
}
