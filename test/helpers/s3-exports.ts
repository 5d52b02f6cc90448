import { randomUUID } from 'node:crypto';
import { listRuns, type RunRecord } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import type {
  BatchExportWorkflowInput,
  BatchExportWorkflowResult,
  InsertActivitySettings,
} from '../../src/temporal/contracts';
import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { getObject, readExportedObject, testS3Destination } from './s3';
import type { TestStack } from './stack';

/** Creates an S3 export to `bucket` on the test S3 endpoint; `config` adds to or overrides the defaults. */
export async function createS3Export(
  stack: TestStack,
  teamId: number,
  bucket: string,
  config: Record<string, unknown> = {},
  model = 'events',
) {
  // Paused: tests run their intervals themselves. The hourly schedule firing mid-test (at the hour) added a run, a
  // file and a manifest to the bucket (a CI run that crossed 00:00 UTC failed on it).
  return createBatchExport(stack.services, teamId, {
    name: `s3 ${randomUUID()}`,
    model,
    destination: testS3Destination(stack.s3Endpoint, bucket, config),
    interval: 'hour',
    paused: true,
  });
}

export function intervalInput(
  batchExportId: string,
  teamId: number,
  dataIntervalEnd: string,
  insertActivity?: InsertActivitySettings,
): BatchExportWorkflowInput {
  return { batchExportId, teamId, interval: 'hour', timezone: 'UTC', dataIntervalEnd, insertActivity };
}

/**
 * Runs an export workflow (`s3-export`, `noop-export`, ...) for the hour ending at `dataIntervalEnd`; resolves with
 * its result or error, and the run row it recorded.
 */
export async function runInterval(
  stack: TestStack,
  workflowType: string,
  input: BatchExportWorkflowInput,
): Promise<{ result: BatchExportWorkflowResult | null; error: unknown; run: RunRecord }> {
  const workflowId = `${input.batchExportId}-${input.dataIntervalEnd}`;
  let result: BatchExportWorkflowResult | null = null;
  let error: unknown = null;
  try {
    result = await stack.temporal.workflow.execute(workflowType, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      args: [input],
    });
  } catch (caught) {
    error = caught;
  }
  return { result, error, run: await finishedRun(stack, input.batchExportId, workflowId) };
}

export async function finishedRun(stack: TestStack, batchExportId: string, workflowId: string): Promise<RunRecord> {
  const runs = await listRuns(stack.db.pool, batchExportId);
  const run = runs.find((candidate) => candidate.workflow_id === workflowId && candidate.finished_at);
  if (!run) throw new Error(`No finished run for ${workflowId}`);
  return run;
}

/** Microseconds since the epoch of an ISO 8601 / Postgres timestamp, whatever its precision or offset notation. */
export function timestampMicros(text: string): bigint {
  const match = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(text);
  if (!match) throw new Error(`Not a timestamp: ${text}`);
  const [, date, time, fraction = '', zone = 'Z'] = match;
  const offset = zone === 'Z' ? '+00:00' : zone.length === 3 ? `${zone}:00` : zone;
  const seconds = BigInt(Date.parse(`${date}T${time}${offset}`) / 1000);
  return seconds * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

export interface ManifestFile {
  key: string;
  records: number;
  bytes: number;
}

/**
 * Reads every file an interval's manifest lists, with the independent readers, checking that each holds as many
 * rows and bytes as the manifest says; returns the manifest and the uuids of all the files, in file order.
 */
export async function readManifestFiles(
  s3: S3Client,
  bucket: string,
  manifestKey: string,
  format: { file_format: 'JSONLines' | 'Parquet'; compression: string | null },
): Promise<{ manifest: { records: number; files: ManifestFile[] }; uuids: string[] }> {
  const manifest = JSON.parse((await getObject(s3, bucket, manifestKey)).toString('utf8')) as {
    records: number;
    files: ManifestFile[];
  };
  const uuids: string[] = [];
  for (const file of manifest.files) {
    const columns = format.file_format === 'Parquet' ? ['uuid'] : undefined;
    const { rows } = await readExportedObject(s3, bucket, file.key, { ...format, columns });
    expect(rows).toHaveLength(file.records);
    expect(file.bytes).toBe((await getObject(s3, bucket, file.key)).length);
    uuids.push(...rows.map((row) => row.uuid as string));
  }
  return { manifest, uuids };
}
