import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ObjectStore } from '../../src/destinations/object-storage/store';
import { ObjectUpload } from '../../src/destinations/object-storage/upload';
import { s3Store } from '../../src/destinations/s3/store';
import { createBucket, getObject, testS3Client } from '../helpers/s3';

// S3's smallest part but the last.
const PART_BYTES = 5 * 1024 * 1024;

describe('uploading an object in parts', () => {
  let s3: S3Client;
  let bucket: string;

  beforeAll(async () => {
    s3 = testS3Client(inject('s3Endpoint'));
    bucket = await createBucket(s3);
  });

  afterAll(() => s3?.destroy());

  it('copies writes into a few part buffers that take turns, and the object holds every byte in order', async () => {
    const store = s3Store(s3, { bucket });
    // The real store, with the body of every part it was given noted.
    const bodies: Buffer[] = [];
    const noting: ObjectStore = {
      ...store,
      uploadPart: (upload, number, body, md5) => {
        bodies.push(body);
        return store.uploadPart(upload, number, body, md5);
      },
    };
    const upload = new ObjectUpload<number>(
      noting,
      { key: 'parts.bin', contentType: 'application/octet-stream' },
      { partSize: PART_BYTES },
    );
    // Writes of uneven sizes, each its own random bytes: a part that took another's bytes would not match.
    const writes = Array.from({ length: 90 }, (_, i) => randomBytes(200_000 + ((i * 7919) % 500_000)));
    for (const [i, bytes] of writes.entries()) await upload.write(bytes, i);
    await upload.complete();

    const expected = Buffer.concat(writes);
    expect(upload.bytesWritten).toBe(expected.length);
    expect((await getObject(s3, bucket, 'parts.bin')).equals(expected)).toBe(true);
    // Every part but the last is at least a part's size, ending on a write's end.
    expect(bodies.length).toBeGreaterThanOrEqual(6);
    for (const body of bodies.slice(0, -1)) expect(body.length).toBeGreaterThanOrEqual(PART_BYTES);
    // Two parts in flight at most, so a third buffer at most: the rest reuse the buffers of parts S3 took.
    expect(new Set(bodies.map((body) => body.buffer)).size).toBeLessThanOrEqual(3);
  });

  it('puts a file smaller than a part in one request, from a buffer about its size', async () => {
    const store = s3Store(s3, { bucket });
    const puts: Buffer[] = [];
    const noting: ObjectStore = {
      ...store,
      put: (key, body, contentType) => {
        puts.push(body as Buffer);
        return store.put(key, body, contentType);
      },
    };
    const upload = new ObjectUpload<number>(
      noting,
      { key: 'small.bin', contentType: 'application/octet-stream' },
      { partSize: PART_BYTES },
    );
    const writes = Array.from({ length: 5 }, () => randomBytes(3_000));
    for (const [i, bytes] of writes.entries()) await upload.write(bytes, i);
    await upload.complete();

    expect((await getObject(s3, bucket, 'small.bin')).equals(Buffer.concat(writes))).toBe(true);
    expect(puts).toHaveLength(1);
    // Many small exports at once must not each hold a part's worth of memory.
    expect(puts[0]!.buffer.byteLength).toBeLessThan(64 * 1024);
  });
});
