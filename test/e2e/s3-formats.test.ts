import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { createBucket, getObject, listKeys, readExportedObject, testS3Client } from '../helpers/s3';
import { createS3Export, intervalInput, readManifestFiles, runInterval, timestampMicros } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';

const HOUR_END = '2024-07-01T11:00:00Z';
const BASE = '2024-07-01T10:00:00Z-2024-07-01T11:00:00Z';

const COMBINATIONS = [
  { file_format: 'JSONLines', compression: 'gzip', suffix: '.jsonl.gz' },
  { file_format: 'JSONLines', compression: 'brotli', suffix: '.jsonl.br' },
  { file_format: 'JSONLines', compression: 'zstd', suffix: '.jsonl.zst' },
  { file_format: 'JSONLines', compression: null, suffix: '.jsonl' },
  { file_format: 'Parquet', compression: 'zstd', suffix: '.parquet', codec: 'ZSTD' },
  { file_format: 'Parquet', compression: 'snappy', suffix: '.parquet', codec: 'SNAPPY' },
  { file_format: 'Parquet', compression: 'gzip', suffix: '.parquet', codec: 'GZIP' },
  { file_format: 'Parquet', compression: 'brotli', suffix: '.parquet', codec: 'BROTLI' },
  // pyarrow names the LZ4_RAW codec "LZ4".
  { file_format: 'Parquet', compression: 'lz4', suffix: '.parquet', codec: 'LZ4' },
  { file_format: 'Parquet', compression: null, suffix: '.parquet', codec: 'UNCOMPRESSED' },
] as const;

describe('S3 file formats and compressions', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '7' } });
  let s3: S3Client;
  let teamId: number;
  let events: TestEvent[];

  beforeAll(async () => {
    // Small batches, so that files roll over and compressed chunks follow one another within a file.
    s3 = testS3Client(stack.s3Endpoint);
    ({ teamId } = await createTeam(stack.db.pool));
    events = [
      makeEvent(teamId, '2024-07-01T10:00:00Z'),
      makeEvent(teamId, '2024-07-01T10:59:59.999999Z', {
        event: 'signed up ✓',
        properties: JSON.stringify({
          name: 'Zoë 日本語',
          nul: 'a\u0000b',
          $set: { plan: 'pro' },
          nested: { x: [1, 2] },
        }),
        distinct_id: 'user-🦔',
        person_id: null,
        timestamp: '2024-06-30T23:59:59.000001Z',
      }),
      ...Array.from({ length: 40 }, (_, i) =>
        makeEvent(teamId, `2024-07-01T10:${String(i + 10).padStart(2, '0')}:00.${String(123456 + i)}Z`),
      ),
    ];
    // Exports are ordered by insertion time.
    events.sort((a, b) => Number(timestampMicros(a.inserted_at) - timestampMicros(b.inserted_at)));
    const outside = [makeEvent(teamId, '2024-07-01T11:00:00Z'), makeEvent(teamId, '2024-07-01T09:59:59.999999Z')];
    await insertEvents(stack.db.pool, [...events, ...outside]);
  });

  afterAll(async () => {
    s3?.destroy();
  });

  /** The event as an export shows it, with JSON columns parsed and timestamps as microseconds. */
  function expected(event: TestEvent) {
    const properties = JSON.parse(event.properties) as Record<string, unknown>;
    return {
      uuid: event.uuid,
      event: event.event,
      properties,
      distinct_id: event.distinct_id,
      team_id: teamId,
      timestamp: timestampMicros(event.timestamp),
      created_at: timestampMicros(event.created_at),
      inserted_at: timestampMicros(event.inserted_at),
      elements_chain: event.elements_chain,
      person_id: event.person_id,
      person_properties: JSON.parse(event.person_properties),
      set: properties.$set ?? null,
      set_once: properties.$set_once ?? null,
    };
  }

  /** A row read back, normalised like `expected`: Parquet holds JSON columns as strings. */
  function normalise(row: Record<string, unknown>, format: string) {
    const json = (value: unknown) => (format === 'Parquet' && typeof value === 'string' ? JSON.parse(value) : value);
    return {
      ...row,
      properties: json(row.properties),
      person_properties: json(row.person_properties),
      set: json(row.set),
      set_once: json(row.set_once),
      timestamp: timestampMicros(row.timestamp as string),
      created_at: timestampMicros(row.created_at as string),
      inserted_at: timestampMicros(row.inserted_at as string),
    };
  }

  /** 300 events of ~12 KB each in 2024-07-02 10:00-11:00 (~2.7 MB gzipped, ~3 files of 1 MB), inserted once. */
  let big: TestEvent[] | undefined;
  async function bigEvents(): Promise<TestEvent[]> {
    if (big) return big;
    const events = Array.from({ length: 300 }, (_, i) =>
      makeEvent(teamId, `2024-07-02T10:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}Z`, {
        // 12 KB of base64 noise per event, ~9 KB gzipped: 300 events are ~2.7 MB, three files of 1 MB.
        properties: JSON.stringify({
          blob: Buffer.from(crypto.getRandomValues(new Uint8Array(9000))).toString('base64'),
        }),
      }),
    );
    await insertEvents(stack.db.pool, events);
    big = events;
    return events;
  }

  it.each(COMBINATIONS)(
    'exports exactly the interval rows as $file_format with $compression compression, readable by an independent reader',
    async (combination) => {
      const bucket = await createBucket(s3);
      const batchExport = await createS3Export(stack, teamId, bucket, {
        file_format: combination.file_format,
        compression: combination.compression,
      });

      const { result, run } = await runInterval(stack, 's3-export', intervalInput(batchExport.id, teamId, HOUR_END));

      expect(result).toMatchObject({ status: 'Completed', recordsCompleted: events.length });
      const dataKey = `${BASE}${combination.suffix}`;
      expect(await listKeys(s3, bucket)).toEqual([dataKey, `${BASE}_manifest.json`]);
      const readBack = await readExportedObject(s3, bucket, dataKey, combination);
      expect(readBack.rows.map((row) => normalise(row, combination.file_format))).toEqual(events.map(expected));
      if ('codec' in combination) {
        expect(readBack.codecs).toEqual([combination.codec]);
        expect(readBack.types).toMatchObject({
          uuid: 'string',
          properties: 'string',
          team_id: 'int64',
          inserted_at: 'timestamp[us, tz=UTC]',
        });
      }
      expect(run).toMatchObject({
        status: 'Completed',
        records_completed: events.length,
        bytes_exported: (await getObject(s3, bucket, dataKey)).length,
      });
    },
  );

  it('writes Parquet that DuckDB reads too', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { file_format: 'Parquet', compression: 'zstd' });

    await runInterval(stack, 's3-export', intervalInput(batchExport.id, teamId, HOUR_END));

    const readBack = await readExportedObject(s3, bucket, `${BASE}.parquet`, {
      file_format: 'Parquet',
      compression: 'zstd',
      reader: 'duckdb',
    });
    expect(readBack.rows.map((row) => normalise(row, 'Parquet'))).toEqual(events.map(expected));
  });

  it.each([
    // A file closes at a batch boundary past the limit, over it by the two batches (7 rows, ~65 KB each) encoding.
    { file_format: 'JSONLines', compression: 'gzip', suffix: '.jsonl.gz', batchesOver: 2 },
    // Parquet row groups (one per batch) reach S3 a couple of batches after they were read.
    { file_format: 'Parquet', compression: 'zstd', suffix: '.parquet', batchesOver: 5 },
  ] as const)(
    'rolls $file_format files over at max_file_size_mb: numbered files, every row in exactly one, all in the manifest',
    async ({ file_format, compression, suffix, batchesOver }) => {
      const big = await bigEvents();
      const bucket = await createBucket(s3);
      const batchExport = await createS3Export(stack, teamId, bucket, {
        file_format,
        compression,
        max_file_size_mb: 1,
      });

      const { result } = await runInterval(
        stack,
        's3-export',
        intervalInput(batchExport.id, teamId, '2024-07-02T11:00:00Z'),
      );

      expect(result).toMatchObject({ status: 'Completed', recordsCompleted: big.length });
      const base = '2024-07-02T10:00:00Z-2024-07-02T11:00:00Z';
      const dataKeys = (await listKeys(s3, bucket)).filter((key) => key !== `${base}_manifest.json`);
      expect(dataKeys.length).toBeGreaterThanOrEqual(2);
      expect(dataKeys).toEqual(dataKeys.map((_, n) => `${base}-${n}${suffix}`).sort());
      const { manifest, uuids } = await readManifestFiles(s3, bucket, `${base}_manifest.json`, {
        file_format,
        compression,
      });
      for (const file of manifest.files) expect(file.bytes).toBeLessThan(1024 * 1024 + batchesOver * 7 * 13_000);
      expect(manifest.records).toBe(big.length);
      expect(uuids.sort()).toEqual(big.map((event) => event.uuid).sort());
    },
  );

  it('asks S3 to encrypt the files and the manifest when encryption is set', async () => {
    const bucket = await createBucket(s3);
    const batchExport = await createS3Export(stack, teamId, bucket, { compression: 'zstd', encryption: 'AES256' });

    await runInterval(stack, 's3-export', intervalInput(batchExport.id, teamId, HOUR_END));

    for (const key of await listKeys(s3, bucket)) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ServerSideEncryption).toBe('AES256');
    }
  });
});
