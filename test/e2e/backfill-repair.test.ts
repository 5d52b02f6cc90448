import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { createApiKey } from '../../src/db/api-keys';
import { getBackfill } from '../../src/db/backfills';
import { listRuns } from '../../src/db/runs';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { intervalKeys, verifyManifest } from '../helpers/manifests';
import { createBucket, testS3Client } from '../helpers/s3';
import { createS3Export } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';

const START = '2024-10-01T10:00:00Z';
const END = '2024-10-01T11:00:00Z';
const MANIFEST = `${START}-${END}_manifest.json`;
/** Enough gzipped rows (random padding barely compresses) for max_file_size_mb 1 to split the hour in files. */
const EVENTS = 5000;

describe('backfills repair what the destination lost', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '250' } });
  let s3: S3Client;
  let teamId: number;
  let organizationId: string;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId, organizationId } = await createTeam(stack.db.pool));
    const events = Array.from({ length: EVENTS }, (_, i) =>
      makeEvent(teamId, new Date(Date.parse(START) + i * 500).toISOString(), {
        properties: JSON.stringify({ $current_url: 'https://example.com/', padding: randomBytes(400).toString('hex') }),
      }),
    );
    await insertEvents(stack.db.pool, events);
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
  });

  async function backfill(batchExportId: string) {
    const created = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId,
      body: { start_at: START, end_at: END },
    });
    return waitForBackfill(stack, created);
  }

  it("rewrites an interval whose files were deleted or outnumbered: its files are exactly the new manifest's", async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'gzip', max_file_size_mb: 1 });

    expect((await backfill(batchExport.id)).status).toBe('Completed');
    const first = await verifyManifest(s3, bucket, MANIFEST);
    expect(first.problems).toEqual([]);
    expect(first.unchecked).toEqual([]);
    expect(first.rows).toBe(EVENTS);
    const files = first.manifest.files.map((file) => file.key);
    expect(files.length).toBeGreaterThanOrEqual(2);

    // The destination lost a split file, and holds one more than this export writes (an earlier export split the
    // interval into more files).
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: files[1] }));
    const stale = `${START}-${END}-${files.length + 3}.jsonl.gz`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: stale, Body: 'left by an earlier export' }));
    // Not named as this export names its files (another export writing Parquet to the same prefix): kept.
    const foreign = `${START}-${END}.parquet`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: foreign, Body: 'not ours' }));

    expect((await backfill(batchExport.id)).status).toBe('Completed');
    const second = await verifyManifest(s3, bucket, MANIFEST);
    expect(second.problems).toEqual([]);
    expect(second.unchecked).toEqual([]);
    expect(second.rows).toBe(EVENTS);
    expect(second.manifest.source_records).toBe(EVENTS);
    expect(await intervalKeys(s3, bucket, START, END)).toEqual(
      [...second.manifest.files.map((file) => file.key), MANIFEST, foreign].sort(),
    );

    // The run's receipt says the same as the manifest.
    const runs = (await listRuns(stack.db.pool, batchExport.id)).filter((run) => run.status === 'Completed');
    expect(runs).toHaveLength(2);
    const latest = runs[0]!;
    expect(latest.records_total_count).toBe(EVENTS);
    expect(latest.receipt).toMatchObject({ sourceRecords: EVENTS, recordsWritten: EVENTS, manifestKey: MANIFEST });
    expect(latest.receipt!.files).toEqual(second.manifest.files);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      'SELECT message FROM batch_export_log_entries WHERE run_id = $1',
      [latest.id],
    );
    expect(logs.map((log) => log.message)).toContain(
      `Deleted 1 file(s) an earlier export of the interval wrote and this one did not: ${stale}`,
    );
  });

  it('leaves completed intervals untouched with skip_exported (npm run cli -- backfill --skip-exported)', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'gzip', max_file_size_mb: 1 });
    expect((await backfill(batchExport.id)).status).toBe('Completed');
    const { manifest } = await verifyManifest(s3, bucket, MANIFEST);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifest.files[0]!.key }));
    const before = await intervalKeys(s3, bucket, START, END);

    // The CLI talks to the HTTP API: an API on this stack, and a key of the project's organization.
    const app = await buildServer({ deps: stack.services });
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    const { key } = await createApiKey(stack.db.pool, {
      organizationId,
      userEmail: 'cli@example.com',
      label: 'cli',
      scopes: ['batch_export:read', 'batch_export:write'],
      scopedProjectIds: null,
    });
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(
        'npx',
        [
          'tsx',
          'scripts/cli.ts',
          'backfill',
          batchExport.id,
          '--start',
          START,
          '--end',
          END,
          '--skip-exported',
          '--follow',
        ],
        {
          env: {
            ...process.env,
            BATCH_EXPORTS_API_URL: apiUrl,
            BATCH_EXPORTS_API_KEY: key,
            BATCH_EXPORTS_PROJECT_ID: String(teamId),
          },
        },
      ));
    } finally {
      await app.close();
    }
    const backfillId = /Started backfill ([0-9a-f-]{36})/.exec(stdout)?.[1];
    expect(backfillId, stdout).toBeDefined();
    const skipped = (await getBackfill(stack.db.pool, backfillId!))!;

    expect(skipped.status).toBe('Completed');
    expect(await intervalKeys(s3, bucket, START, END)).toEqual(before);
    expect(before).not.toContain(manifest.files[0]!.key);
    expect(await listRuns(stack.db.pool, batchExport.id)).toHaveLength(1);
  });
});
