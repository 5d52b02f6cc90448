import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { encryptJson } from '../crypto';
import { insertBatchExport, type BatchExportRecord } from '../db/batch-exports';
import { splitSecrets, type DestinationType } from '../destinations';
import { errorMessage } from '../errors';
import { scheduleOptions } from '../temporal/schedules';
import { BatchExportInput } from './schemas';
import { parseOrThrow } from './validation';

export interface ServiceDependencies {
  pool: Pool;
  temporal: Client;
  config: Pick<Config, 'encryptionKey' | 'temporal' | 'schedule'>;
}

/** Temporal could not be reached or refused a change: the request failed as a whole and nothing was kept. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/**
 * Stores a batch export with its destination and creates its schedule. Postgres and Temporal do not drift: the rows
 * are committed only after the schedule exists, and a schedule whose rows could not be committed is deleted again.
 */
export async function createBatchExport(
  deps: ServiceDependencies,
  teamId: number,
  rawInput: unknown,
): Promise<BatchExportRecord> {
  const input = parseOrThrow(BatchExportInput, rawInput);
  const { plain, secrets } = splitSecrets(input.destination.type as DestinationType, input.destination.config);
  const client = await deps.pool.connect();
  let scheduleId: string | undefined;
  try {
    await client.query('BEGIN');
    const created = await insertBatchExport(client, {
      teamId,
      name: input.name,
      model: input.model,
      interval: input.interval,
      paused: input.paused,
      startAt: input.start_at ?? null,
      endAt: input.end_at ?? null,
      hogqlQuery: input.hogql_query ?? null,
      filters: input.filters ?? null,
      timezone: input.timezone,
      offsetDay: input.offset_day ?? null,
      offsetHour: input.offset_hour ?? null,
      destination: {
        type: input.destination.type,
        config: plain,
        encryptedSecrets: Object.keys(secrets).length ? encryptJson(deps.config.encryptionKey, secrets) : null,
      },
    });
    try {
      await withTemporalDeadline(deps.temporal, () =>
        deps.temporal.schedule.create(
          scheduleOptions(created, {
            taskQueue: deps.config.temporal.taskQueue,
            catchupWindowSeconds: deps.config.schedule.catchupWindowSeconds,
            note: input.paused ? 'Created paused' : undefined,
          }),
        ),
      );
    } catch (error) {
      throw new TemporalUnavailableError(`Could not create the schedule in Temporal: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    scheduleId = created.id;
    await client.query('COMMIT');
    return created;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (scheduleId) {
      await deps.temporal.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
    }
    throw error;
  } finally {
    client.release();
  }
}

/** How long a request waits on Temporal before it fails with a clear error instead of hanging. */
const TEMPORAL_DEADLINE_MS = 10_000;

export function withTemporalDeadline<T>(temporal: Client, fn: () => Promise<T>): Promise<T> {
  return temporal.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, fn);
}
