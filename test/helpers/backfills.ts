import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { getBackfill, type BackfillRecord } from '../../src/db/backfills';
import type { BackfillDependencies } from '../../src/service/backfills';
import { listKeys, readJsonLinesGz, testS3Destination } from './s3';
import type { TestStack } from './stack';

/** What the backfill services need, from a test stack (optionally with other backfill settings). */
export function backfillDeps(stack: TestStack, backfills: Partial<BackfillDependencies['config']['backfills']> = {}) {
  return {
    pool: stack.db.pool,
    temporal: stack.temporal,
    config: { ...stack.config, backfills: { ...stack.config.backfills, ...backfills } },
  } satisfies BackfillDependencies;
}

export function s3Destination(stack: TestStack, bucket: string) {
  return testS3Destination(stack.s3Endpoint, bucket, { compression: 'gzip' });
}

/** Waits for the backfill's workflow (across continue-as-new) to close and returns the row as it then is. */
export async function waitForBackfill(stack: TestStack, backfill: BackfillRecord): Promise<BackfillRecord> {
  await stack.temporal.workflow
    .getHandle(backfill.workflow_id!)
    .result()
    .catch((error: unknown) => {
      // A failed or cancelled backfill fails its workflow too; the row says how.
      if (!(error instanceof WorkflowFailedError)) throw error;
    });
  return (await getBackfill(stack.db.pool, backfill.id))!;
}

/** Every row of every JSON-lines data file in the bucket (manifests left out). */
export async function exportedRows(s3: S3Client, bucket: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const key of await listKeys(s3, bucket)) {
    if (key.endsWith('.jsonl.gz')) rows.push(...(await readJsonLinesGz(s3, bucket, key)));
  }
  return rows;
}

/** Polls Postgres until `check` holds (real workflows finish when they do); fails after `timeoutMs`. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`Condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
