import { describe, expect, it } from 'vitest';
import type { DestinationAccess } from '../../src/config';
import { acquireS3Client } from '../../src/destinations/s3/client';
import { S3DestinationConfig } from '../../src/destinations/s3/config';
import { intervalKeyPrefix, manifestKey, objectKey } from '../../src/destinations/s3/keys';

const interval = {
  prefix: 'exports/{table}/{year}/{month}/{day}/{hour}',
  table: 'events',
  dataIntervalStart: new Date('2024-05-01T10:00:00Z'),
  dataIntervalEnd: new Date('2024-05-01T11:00:00Z'),
};

describe('S3 destination config', () => {
  const base = { bucket_name: 'my-bucket' };

  it('accepts every compression of each format', () => {
    for (const compression of ['gzip', 'brotli', 'zstd', null]) {
      expect(S3DestinationConfig.safeParse({ ...base, file_format: 'JSONLines', compression }).success).toBe(true);
    }
    for (const compression of ['zstd', 'snappy', 'gzip', 'brotli', 'lz4', null]) {
      expect(S3DestinationConfig.safeParse({ ...base, file_format: 'Parquet', compression }).success).toBe(true);
    }
  });

  it('refuses a compression the format does not take, naming the ones it does', () => {
    const parsed = S3DestinationConfig.safeParse({ ...base, file_format: 'JSONLines', compression: 'snappy' });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['compression'],
      message: 'Compression "snappy" is not supported for JSONLines: use gzip, brotli, zstd or null',
    });
  });
});

describe('S3 keys', () => {
  it('adds the codec suffix to JSON lines only: Parquet compresses inside the file', () => {
    expect(objectKey({ ...interval, fileFormat: 'JSONLines', compression: 'zstd' })).toBe(
      'exports/events/2024/05/01/10/2024-05-01T10:00:00Z-2024-05-01T11:00:00Z.jsonl.zst',
    );
    expect(objectKey({ ...interval, fileFormat: 'Parquet', compression: 'zstd', fileNumber: 2 })).toBe(
      'exports/events/2024/05/01/10/2024-05-01T10:00:00Z-2024-05-01T11:00:00Z-2.parquet',
    );
  });

  it('puts every key of an interval, manifest included, under its interval prefix', () => {
    const prefix = intervalKeyPrefix(interval);

    expect(objectKey({ ...interval, fileFormat: 'JSONLines', compression: 'gzip', fileNumber: 0 })).toMatch(
      new RegExp(`^${prefix}`),
    );
    expect(manifestKey(interval).startsWith(prefix)).toBe(true);
  });
});

describe('kept S3 clients', () => {
  const access: DestinationAccess = { allowedNetworks: [], s3WorkerCredentials: false };
  const config = (secret: string) =>
    S3DestinationConfig.parse({ bucket_name: 'bucket', aws_access_key_id: 'id', aws_secret_access_key: secret });

  it('shares a client between attempts of the same config only, and never drops one in use', () => {
    const first = acquireS3Client(config('one'), access);
    const again = acquireS3Client(config('one'), access);
    const other = acquireS3Client(config('two'), access);
    expect(again.client).toBe(first.client);
    expect(other.client).not.toBe(first.client);
    again.release();
    other.release();

    // More configs than are kept: the idle ones are dropped, the one still in use is kept.
    for (let i = 0; i < 40; i++) acquireS3Client(config(`idle ${i}`), access).release();
    const stillHeld = acquireS3Client(config('one'), access);
    expect(stillHeld.client).toBe(first.client);
    first.release();
    stillHeld.release();
    const dropped = acquireS3Client(config('two'), access);
    expect(dropped.client).not.toBe(other.client);
    dropped.release();
  });
});
