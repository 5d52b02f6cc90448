import { PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { exportObjects, type ObjectExportOptions } from '../../src/destinations/object-storage/export';
import type { ObjectStore } from '../../src/destinations/object-storage/store';
import { s3Store } from '../../src/destinations/s3/store';
import { createFileEncoder } from '../../src/formats';
import type { CopyBatch } from '../../src/models/copy-stream';
import type { ModelField } from '../../src/models/types';
import { createBucket, listKeys, testS3Client } from '../helpers/s3';

const FIELDS: ModelField[] = [{ name: 'word', type: 'string', expression: 'word' }];
const START = '2024-10-01T10:00:00Z';
const END = '2024-10-01T11:00:00Z';
const BASE = `replace/events/${START}-${END}`;
const MANIFEST = `${BASE}_manifest.json`;
/** max_file_size_mb is set, so the interval's one file is numbered: `-1`, `-2`, ... are what a split export wrote. */
const FILE = (n: number) => `${BASE}-${n}.jsonl.gz`;

/** One batch of rows as binary COPY sends them: a text field each. */
function batchOf(words: string[]): CopyBatch {
  const fields = words.map((word) => Buffer.from(word));
  const starts = new Int32Array(fields.length);
  const lengths = new Int32Array(fields.length);
  fields.forEach((field, i) => {
    starts[i] = i === 0 ? 0 : starts[i - 1]! + lengths[i - 1]!;
    lengths[i] = field.length;
  });
  return { data: Buffer.concat(fields), width: 1, rows: words.length, starts, lengths, cursor: [String(words.length)] };
}

/** A store's calls, as `method key` in order (the upload's key for the calls that take an upload). */
type Calls = string[];

/** The real store, forwarding every call, with each noted in `calls` as it is made. */
function noting(store: ObjectStore, calls: Calls): ObjectStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || name === 'classify') return value;
      return (...args: unknown[]) => {
        const [first] = args;
        calls.push(`${String(name)} ${typeof first === 'string' ? first : (first as { key: string }).key}`);
        return (value as (...forwarded: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** What credentials allowed to write but not to list (or delete) get from S3: AccessDenied, HTTP 403. */
function accessDenied(): S3ServiceException {
  return new S3ServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: 'Access Denied',
  });
}

describe('an export that replaces an interval (backfills) on S3', () => {
  let s3: S3Client;
  let bucket: string;

  beforeAll(async () => {
    s3 = testS3Client(inject('s3Endpoint'));
  });

  beforeEach(async () => {
    bucket = await createBucket(s3);
  });

  afterAll(() => s3?.destroy());

  /** Exports the interval with replace set, through `store` (the real one when not given); resolves with its calls. */
  async function replaceInterval(options: { words?: string[] } & Partial<ObjectExportOptions> = {}) {
    const { words = ['one', 'two', 'three'], store = s3Store(s3, { bucket }), ...rest } = options;
    const calls: Calls = [];
    const warnings: string[] = [];
    const result = await exportObjects({
      store: noting(store, calls),
      config: { prefix: 'replace/{table}', file_format: 'JSONLines', compression: 'gzip', max_file_size_mb: 1 },
      table: 'events',
      dataIntervalStart: new Date(START),
      dataIntervalEnd: new Date(END),
      createEncoder: () => createFileEncoder({ format: 'JSONLines', compression: 'gzip', fields: FIELDS }),
      readRows: async function* () {
        yield batchOf(words);
      },
      partSizeBytes: 5 * 1024 * 1024,
      replace: true,
      onWarning: (message) => void warnings.push(message),
      ...rest,
    });
    return { result, calls, warnings };
  }

  /** After the listing (and the old manifest's delete): the new file, the stale files' deletes, the new manifest. */
  const REWRITE_AND_CLEAN_UP = [
    `put ${FILE(0)}`,
    `deleteObject ${FILE(1)}`,
    `deleteObject ${FILE(3)}`,
    `put ${MANIFEST}`,
  ];

  /** What an earlier export that split the interval in more files left, and an object of another export's. */
  async function plantEarlierExport() {
    await replaceInterval();
    for (const key of [FILE(1), FILE(3), `${BASE}.parquet`]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'left by an earlier export' }));
    }
  }

  it('makes three requests for an interval that holds nothing yet: one listing, the file, the manifest', async () => {
    const { result, calls, warnings } = await replaceInterval();

    expect(calls).toEqual([`listKeys ${BASE}`, `put ${FILE(0)}`, `put ${MANIFEST}`]);
    expect(result.deletedKeys).toEqual([]);
    expect(warnings).toEqual([]);
    expect(await listKeys(s3, bucket)).toEqual([FILE(0), MANIFEST]);
  });

  it('deletes the manifest before the first file and the stale files before the new manifest, listing once', async () => {
    await plantEarlierExport();

    const { result, calls, warnings } = await replaceInterval({ words: ['four'] });

    expect(calls).toEqual([`listKeys ${BASE}`, `deleteObject ${MANIFEST}`, ...REWRITE_AND_CLEAN_UP]);
    expect(result.deletedKeys).toEqual([FILE(1), FILE(3)]);
    expect(result.files.map((file) => [file.key, file.records])).toEqual([[FILE(0), 1]]);
    expect(warnings).toEqual([]);
    // Not named as this export names its files (another export writing Parquet to the prefix): kept.
    expect(await listKeys(s3, bucket)).toEqual([FILE(0), `${BASE}.parquet`, MANIFEST]);
  });

  it('lists on a resumed attempt too, and keeps the manifest there, as its first attempt deleted it', async () => {
    await plantEarlierExport();

    const { result, calls } = await replaceInterval({ resumeFrom: { files: [], cursor: null, current: null } });

    expect(calls).toEqual([`listKeys ${BASE}`, ...REWRITE_AND_CLEAN_UP]);
    expect(result.deletedKeys).toEqual([FILE(1), FILE(3)]);
  });

  describe('with credentials that may write but not list or delete', () => {
    const warning = () =>
      'Files an earlier export of this interval wrote could not be listed or deleted: grant s3:ListBucket and ' +
      `s3:DeleteObject on the prefix to have them removed (AccessDenied on bucket "${bucket}")`;

    /** The real store, but the methods named fail as S3 fails them without the grant (moto enforces no policy). */
    function refusing(...methods: Array<'listKeys' | 'deleteObject'>): ObjectStore {
      const store = s3Store(s3, { bucket });
      const refused = {
        // S3 refuses the listing's first page.
        listKeys: (): AsyncIterable<string> => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(accessDenied()) }),
        }),
        deleteObject: () => Promise.reject(accessDenied()),
      };
      return { ...store, ...Object.fromEntries(methods.map((method) => [method, refused[method]])) };
    }

    it('may not list: tries the manifest delete as before, leaves the stale files and says so', async () => {
      await plantEarlierExport();

      const { result, calls, warnings } = await replaceInterval({ words: ['four'], store: refusing('listKeys') });

      expect(calls).toEqual([`listKeys ${BASE}`, `deleteObject ${MANIFEST}`, `put ${FILE(0)}`, `put ${MANIFEST}`]);
      expect(result.deletedKeys).toEqual([]);
      expect(warnings).toEqual([warning()]);
      expect(await listKeys(s3, bucket)).toEqual([FILE(0), FILE(1), FILE(3), `${BASE}.parquet`, MANIFEST]);
    });

    it('may neither list nor delete: the export completes, with the same warning', async () => {
      await plantEarlierExport();

      const { result, calls, warnings } = await replaceInterval({
        words: ['four'],
        store: refusing('listKeys', 'deleteObject'),
      });

      expect(calls).toEqual([`listKeys ${BASE}`, `deleteObject ${MANIFEST}`, `put ${FILE(0)}`, `put ${MANIFEST}`]);
      expect(result.deletedKeys).toEqual([]);
      expect(result.records).toBe(1);
      expect(warnings).toEqual([warning()]);
    });

    it('may list but not delete: the old manifest stays until overwritten, the stale files with a warning', async () => {
      await plantEarlierExport();

      const { result, calls, warnings } = await replaceInterval({ words: ['four'], store: refusing('deleteObject') });

      expect(calls).toEqual([
        `listKeys ${BASE}`,
        `deleteObject ${MANIFEST}`,
        `put ${FILE(0)}`,
        `deleteObject ${FILE(1)}`,
        `put ${MANIFEST}`,
      ]);
      expect(result.deletedKeys).toEqual([]);
      expect(warnings).toEqual([warning()]);
      expect(await listKeys(s3, bucket)).toEqual([FILE(0), FILE(1), FILE(3), `${BASE}.parquet`, MANIFEST]);
    });
  });
});
