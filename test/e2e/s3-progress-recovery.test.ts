import { createHash, randomBytes } from 'node:crypto';
import { CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunProgress, plannedParts, planPart, saveFileFinished } from '../../src/db/run-progress';
import { startRun } from '../../src/db/runs';
import { recoverProgress } from '../../src/destinations/s3/progress';
import { createTeam } from '../helpers/fixtures';
import { createBucket, testS3Client } from '../helpers/s3';
import { createS3Export } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';

const KEY = 'interval.jsonl.gz';
// S3's smallest part but the last.
const PART_BYTES = 5 * 1024 * 1024;

/**
 * What a retried attempt continues from, given the parts an earlier attempt recorded and what S3 really holds: the
 * cases a kill test cannot aim at.
 */
describe('recovering an S3 export from the parts it recorded', () => {
  const stack = useTestStack({ worker: false });
  let s3: S3Client;
  let bucket: string;
  let batchExportId: string;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    bucket = await createBucket(s3);
    const { teamId } = await createTeam(stack.db.pool);
    batchExportId = (await createS3Export(stack, teamId, bucket)).id;
  });

  afterAll(async () => {
    s3?.destroy();
  });

  /** A run with an open upload; `send(n)` records part n (ending at row n * 100) and uploads `stored ?? planned`. */
  async function openUpload() {
    const run = await startRun(stack.db.pool, {
      batchExportId,
      dataIntervalStart: null,
      dataIntervalEnd: new Date('2024-08-01T11:00:00Z'),
      workflowId: `recovery-${randomBytes(4).toString('hex')}`,
      workflowRunId: 'first',
      backfillId: null,
    });
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: KEY }));
    const uploadId = UploadId!;
    const plan = async (number: number, body: Buffer) =>
      planPart(stack.db.pool, run.id, {
        uploadId,
        key: KEY,
        number,
        size: body.length,
        md5: createHash('md5').update(body).digest('hex'),
        records: number * 100,
        cursor: [String(number * 100)],
      });
    const upload = (number: number, body: Buffer) =>
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: KEY, UploadId: uploadId, PartNumber: number, Body: body }));
    const recover = async () => recoverProgress(s3, bucket, null, await plannedParts(stack.db.pool, run.id));
    return { runId: run.id, uploadId, plan, upload, recover };
  }

  it('continues after every part S3 holds as recorded, answered or not', async () => {
    const { uploadId, plan, upload, recover } = await openUpload();
    for (const number of [1, 2, 3]) {
      const body = randomBytes(PART_BYTES);
      await plan(number, body);
      await upload(number, body);
    }

    const progress = await recover();

    expect(progress.current).toMatchObject({ key: KEY, uploadId, mark: { records: 300, cursor: ['300'] } });
    expect(progress.current?.parts.map((part) => part.number)).toEqual([1, 2, 3]);
  });

  it('stops before a part recorded but not stored, and ignores the parts after the gap', async () => {
    const { plan, upload, recover } = await openUpload();
    for (const number of [1, 2, 3]) {
      const body = randomBytes(PART_BYTES);
      await plan(number, body);
      // Part 2 was still in flight when the worker died; part 3 was stored.
      if (number !== 2) await upload(number, body);
    }

    const progress = await recover();

    expect(progress.current?.parts.map((part) => part.number)).toEqual([1]);
    expect(progress.current?.mark.records).toBe(100);
  });

  it('does not take a part an earlier attempt stored for content recorded since', async () => {
    const { plan, upload, recover } = await openUpload();
    const first = randomBytes(PART_BYTES);
    await plan(1, first);
    await upload(1, first);
    // An earlier attempt stored part 2; a later one recorded other rows as part 2 and died before sending them.
    await upload(2, randomBytes(PART_BYTES));
    await plan(2, randomBytes(PART_BYTES));

    const progress = await recover();

    expect(progress.current?.parts.map((part) => part.number)).toEqual([1]);
  });

  it('forgets the parts of a finished file as it saves the progress that lists the file', async () => {
    const { runId, plan } = await openUpload();
    await plan(1, randomBytes(16));
    await plan(2, randomBytes(16));
    expect(await plannedParts(stack.db.pool, runId)).toHaveLength(2);

    const progress = { files: [{ key: KEY, records: 200 }], cursor: ['200'], current: null };
    await saveFileFinished(stack.db.pool, runId, progress);

    expect(await plannedParts(stack.db.pool, runId)).toEqual([]);
    expect(await loadRunProgress(stack.db.pool, runId)).toEqual(progress);
    // Saved again (a later file): replaced, not added.
    await saveFileFinished(stack.db.pool, runId, { ...progress, cursor: ['300'] });
    expect(await loadRunProgress(stack.db.pool, runId)).toMatchObject({ cursor: ['300'] });
  });
});
