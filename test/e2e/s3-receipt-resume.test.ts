import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/destinations/s3/client';
import { S3DestinationConfig } from '../../src/destinations/s3/config';
import { exportToS3, type S3ExportOptions } from '../../src/destinations/s3/export';
import type { S3ExportProgress } from '../../src/destinations/s3/progress';
import { createFileEncoder } from '../../src/formats';
import type { CopyBatch } from '../../src/models/copy-stream';
import type { ModelField } from '../../src/models/types';
import { verifyManifest } from '../helpers/manifests';
import { createBucket, getObject, TEST_CREDENTIALS, testS3Client } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';

const PART = 5 * 1024 * 1024;
/** Batches of ~6 MB of random hex lines, ~3.3 MB gzipped: three fill more than one 5 MiB part. */
const BATCHES = 6;
const ROWS_PER_BATCH = 2000;

/** The rows' fields, as copyColumnsQuery reads them: an int8 and a text column. */
const FIELDS: ModelField[] = [
  { name: 'n', type: 'integer', expression: 'n' },
  { name: 'noise', type: 'string', expression: 'noise' },
];

/** Rows of batch `index` as binary COPY sends them: `n` (8 bytes) and 1,500 random bytes as hex. */
function batchOf(index: number): CopyBatch {
  const fields = Array.from({ length: ROWS_PER_BATCH }, (_, row) => {
    const n = Buffer.alloc(8);
    n.writeBigInt64BE(BigInt(index * ROWS_PER_BATCH + row));
    return [n, Buffer.from(randomBytes(1500).toString('hex'))];
  }).flat();
  const starts = new Int32Array(fields.length);
  const lengths = new Int32Array(fields.length);
  let at = 0;
  fields.forEach((field, i) => {
    starts[i] = at;
    lengths[i] = field.length;
    at += field.length;
  });
  return { data: Buffer.concat(fields), width: 2, rows: ROWS_PER_BATCH, starts, lengths, cursor: [String(index)] };
}

describe('the SHA-256 of a file a resumed attempt finished', () => {
  const stack = useTestStack({ worker: false });
  let s3: S3Client;

  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
  });

  afterAll(async () => {
    s3?.destroy();
  });

  it('is read back from S3 and matches the object, as the manifest says', async () => {
    const bucket = await createBucket(s3);
    const config = S3DestinationConfig.parse({
      bucket_name: bucket,
      region: 'us-east-1',
      endpoint_url: stack.s3Endpoint,
      compression: 'gzip',
      ...TEST_CREDENTIALS,
    });
    const batches = Array.from({ length: BATCHES }, (_, index) => batchOf(index));
    const client = createS3Client(config, stack.config.destinationAccess);
    const common: S3ExportOptions = {
      client,
      config,
      table: 'events',
      dataIntervalStart: new Date('2024-10-01T10:00:00Z'),
      dataIntervalEnd: new Date('2024-10-01T11:00:00Z'),
      createEncoder: () => createFileEncoder({ format: 'JSONLines', compression: 'gzip', fields: FIELDS }),
      readRows: async function* () {},
      partSizeBytes: PART,
      describe: {
        model: 'events',
        schema: FIELDS.map(({ name, type }) => ({ name, type })),
        sourceRecords: () => BATCHES * ROWS_PER_BATCH,
      },
    };
    try {
      // The first attempt loses its connection halfway: the parts it uploaded stay for the next attempt.
      let durable: S3ExportProgress | null = null;
      const lost = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      await expect(
        exportToS3({
          ...common,
          readRows: async function* () {
            yield* batches.slice(0, BATCHES / 2);
            // Fails once a part is durable (uploads finish in the background), as a later read would.
            while (!durable) await new Promise((resolve) => setTimeout(resolve, 50));
            throw lost;
          },
          onProgress: (progress) => (durable = progress),
        }),
      ).rejects.toBe(lost);
      const resumeFrom = durable as S3ExportProgress | null;
      expect(resumeFrom?.current?.parts.length).toBeGreaterThan(0);

      const result = await exportToS3({
        ...common,
        resumeFrom,
        readRows: async function* (after) {
          yield* batches.filter((batch) => Number(batch.cursor[0]) > Number(after![0]));
        },
      });

      const [file] = result.files;
      const stored = await getObject(s3, bucket, file!.key);
      expect(file!.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
      const verified = await verifyManifest(s3, bucket, result.manifestKey);
      expect(verified.problems).toEqual([]);
      expect(verified.unchecked).toEqual([]);
      expect(verified.rows).toBe(BATCHES * ROWS_PER_BATCH);
    } finally {
      client.destroy();
    }
  });
});
