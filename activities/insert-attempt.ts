import type { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { getBatchExport, getDestinationConfigWithSecrets, type BatchExportRecord } from '../src/db/batch-exports';
import { writeLog } from '../src/db/logs';
import { markRunRunning } from '../src/db/runs';
import { BatchExportError } from '../src/errors';
import type { InsertActivityInput } from '../workflows/types';

/** The export and its destination config (secrets included), parsed by the destination's schema. */
export async function loadExport<T>(
  pool: Pool,
  encryptionKey: Buffer,
  batchExportId: string,
  schema: z.ZodType<T>,
  destinationName: string,
): Promise<{ batchExport: BatchExportRecord; destinationConfig: T }> {
  const batchExport = await getBatchExport(pool, batchExportId);
  const destination = await getDestinationConfigWithSecrets(pool, encryptionKey, batchExportId);
  if (!batchExport || !destination) {
    throw new BatchExportError(`Batch export ${batchExportId} does not exist or was deleted`, {
      kind: 'configuration',
    });
  }
  const parsed = schema.safeParse(destination.config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BatchExportError(
      `The ${destinationName} destination's config is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      { kind: 'configuration' },
    );
  }
  return { batchExport, destinationConfig: parsed.data };
}

/** Marks the run Running and writes the log lines the user sees when an attempt starts (WARNING on a retry). */
export async function announceAttempt(
  pool: Pool,
  context: Context,
  input: InsertActivityInput,
  description: string,
): Promise<void> {
  const entry = { teamId: input.teamId, batchExportId: input.batchExportId, runId: input.runId };
  if (context.info.attempt > 1) {
    await writeLog(pool, {
      ...entry,
      level: 'WARNING',
      message: `Retrying the export (attempt ${context.info.attempt})`,
    });
  }
  await markRunRunning(pool, input.runId);
  await writeLog(pool, {
    ...entry,
    level: 'INFO',
    message: `Exporting ${description} inserted from ${input.dataIntervalStart} to ${input.dataIntervalEnd}`,
  });
}
