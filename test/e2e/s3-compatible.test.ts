import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/destinations/s3/client';
import { S3DestinationConfig } from '../../src/destinations/s3/config';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { QUICK_RETRIES } from '../helpers/postgres-exports';
import { createBucket, getObject, listKeys, testS3Client, TEST_CREDENTIALS } from '../helpers/s3';
import { createS3Export, intervalInput, runInterval } from '../helpers/s3-exports';
import { startS3Recorder, type S3Recorder } from '../helpers/s3-recorder';
import { useTestStack } from '../helpers/stack';

/**
 * The settings the README's "S3-compatible stores" table gives for each store, run against moto through a recorder
 * that keeps what the store would see: path-style requests, the signing region, and no CRC checksum headers.
 */
const PRESETS: Array<[string, Record<string, unknown>, string]> = [
  ['MinIO', { region: 'us-east-1', use_virtual_style_addressing: false }, 'us-east-1'],
  ['Cloudflare R2', { region: 'auto', checksum_calculation: 'WHEN_REQUIRED' }, 'auto'],
  ['GCS with HMAC keys', { region: 'auto', checksum_calculation: 'WHEN_REQUIRED' }, 'auto'],
];

/** Headers of the SDK's flexible checksums (CRC32 and the like), which some S3-compatible stores reject. */
const checksumHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((name) => name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm');

describe('S3-compatible store settings', () => {
  const stack = useTestStack();
  let s3: S3Client;
  let recorder: S3Recorder;
  let teamId: number;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    recorder = await startS3Recorder(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(
      stack.db.pool,
      Array.from({ length: 5 }, (_, i) => makeEvent(teamId, `2024-09-01T10:0${i}:00Z`)),
    );
  });

  afterAll(async () => {
    s3?.destroy();
    await recorder?.close();
  });

  const exportThrough = async (config: Record<string, unknown>) => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { endpoint_url: recorder.endpoint, ...config });
    const from = recorder.requests.length;
    const { run } = await runInterval(
      stack,
      'batch-export',
      intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z', QUICK_RETRIES),
    );
    return { bucket, run, requests: recorder.requests.slice(from) };
  };

  for (const [store, config, signingRegion] of PRESETS) {
    it(`exports with the ${store} settings: path style, region ${signingRegion}, no checksum headers`, async () => {
      const { bucket, run, requests } = await exportThrough(config);

      expect(run.status, run.latest_error ?? '').toBe('Completed');
      expect(await listKeys(s3, bucket)).toContain('2024-09-01T10:00:00Z-2024-09-01T11:00:00Z.jsonl');
      const file = await getObject(s3, bucket, '2024-09-01T10:00:00Z-2024-09-01T11:00:00Z.jsonl');
      expect(file.toString().trim().split('\n')).toHaveLength(5);
      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        expect(request.path.startsWith(`/${bucket}`), request.path).toBe(true);
        expect(request.headers.host).toBe(new URL(recorder.endpoint).host);
        expect(String(request.headers.authorization)).toContain(`/${signingRegion}/s3/aws4_request`);
        expect(checksumHeaders(request.headers), `${request.method} ${request.path}`).toEqual([]);
      }
    });
  }

  it('sends the SDK default checksums when asked to (checksum_calculation WHEN_SUPPORTED)', async () => {
    const { run, requests } = await exportThrough({ checksum_calculation: 'WHEN_SUPPORTED' });

    expect(run.status, run.latest_error ?? '').toBe('Completed');
    const uploads = requests.filter((request) => request.method === 'PUT');
    expect(uploads.length).toBeGreaterThan(0);
    for (const upload of uploads) expect(checksumHeaders(upload.headers), upload.path).not.toEqual([]);
  });

  it('addresses <bucket>.<endpoint host> with use_virtual_style_addressing, through the network policy', async () => {
    // Virtual-host style needs a wildcard DNS name for the endpoint, as R2, GCS and a MinIO with MINIO_DOMAIN have;
    // nothing here resolves <bucket>.localhost, so the lookup of that name (by the policy's resolver) is what shows.
    const config = S3DestinationConfig.parse({
      bucket_name: 'virtual-bucket',
      endpoint_url: `http://localhost:${new URL(recorder.endpoint).port}`,
      use_virtual_style_addressing: true,
      ...TEST_CREDENTIALS,
    });
    const client = createS3Client(config, stack.config.destinationAccess);
    const from = recorder.requests.length;
    try {
      await expect(client.send(new HeadBucketCommand({ Bucket: 'virtual-bucket' }))).rejects.toThrow(
        /ENOTFOUND virtual-bucket\.localhost/,
      );
    } finally {
      client.destroy();
    }
    expect(recorder.requests.length).toBe(from);
  });

  it('refuses region "auto" without endpoint_url, naming region', () => {
    const parsed = S3DestinationConfig.safeParse({ bucket_name: 'some-bucket', region: 'auto', ...TEST_CREDENTIALS });
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ['region'],
        message: expect.stringContaining('region "auto" is for S3-compatible'),
      }),
    ]);
  });
});
