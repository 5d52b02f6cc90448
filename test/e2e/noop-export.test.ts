import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, getObject } from '../helpers/s3';
import { createS3Export, intervalInput, runInterval } from '../helpers/s3-exports';
import { useTeamAndS3, useTestStack } from '../helpers/stack';

describe('noop-export workflow', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '3' } });
  let s3: S3Client;
  let teamId: number;
  useTeamAndS3(stack, (made) => ({ s3, teamId } = made));

  it('reads the interval, discards it and records as many rows and bytes as an uncompressed JSON-lines file', async () => {
    await insertEvents(stack.db.pool, [
      ...Array.from({ length: 10 }, (_, i) => makeEvent(teamId, `2024-09-01T10:0${i}:00Z`)),
      makeEvent(teamId, '2024-09-01T10:30:00Z', { event: 'skipped' }),
      makeEvent(teamId, '2024-09-01T11:00:00Z'),
    ]);
    const noop = await createBatchExport(stack.services, teamId, {
      name: 'noop',
      destination: { type: 'NoOp', config: { exclude_events: ['skipped'] } },
    });
    const bucket = await createBucket(s3);
    const s3Export = await createS3Export(stack, teamId, bucket, { exclude_events: ['skipped'] });

    const { result, run } = await runInterval(
      stack,
      'noop-export',
      intervalInput(noop.id, teamId, '2024-09-01T11:00:00Z'),
    );
    await runInterval(stack, 's3-export', intervalInput(s3Export.id, teamId, '2024-09-01T11:00:00Z'));

    const file = await getObject(s3, bucket, '2024-09-01T10:00:00Z-2024-09-01T11:00:00Z.jsonl');
    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 10, bytesExported: file.length });
    expect(run).toMatchObject({ status: 'Completed', records_completed: 10, bytes_exported: file.length });
  });

  it('refuses a NoOp config with fields it does not know', async () => {
    await expect(
      createBatchExport(stack.services, teamId, {
        name: 'noop',
        destination: { type: 'NoOp', config: { bucket_name: 'x' } },
      }),
    ).rejects.toMatchObject({ name: 'ValidationError', attr: 'destination.config.bucket_name' });
  });
});
