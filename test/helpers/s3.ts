import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';

const execFileAsync = promisify(execFile);

export const TEST_CREDENTIALS = { aws_access_key_id: 'testing', aws_secret_access_key: 'testing-secret' };

/** An S3 destination writing to `bucket` of the test's moto server, with `extra` config fields. */
export function testS3Destination(endpoint: string, bucket: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'S3' as const,
    config: { bucket_name: bucket, region: 'us-east-1', endpoint_url: endpoint, ...TEST_CREDENTIALS, ...extra },
  };
}

export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: TEST_CREDENTIALS.aws_access_key_id,
      secretAccessKey: TEST_CREDENTIALS.aws_secret_access_key,
    },
  });
}

export async function createBucket(client: S3Client): Promise<string> {
  const bucket = `test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const result = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (result.Contents ?? []).map((object) => object.Key!).sort();
}

export async function getObject(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await result.Body!.transformToByteArray());
}

/** Downloads a gzipped JSON-lines object and parses every line. */
export async function readJsonLinesGz(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<Record<string, unknown>[]> {
  const text = gunzipSync(await getObject(client, bucket, key)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function listMultipartUploads(client: S3Client, bucket: string): Promise<number> {
  const result = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return result.Uploads?.length ?? 0;
}

export interface ReadBack {
  rows: Record<string, unknown>[];
  /** Parquet only (pyarrow): the codecs of the column chunks, and each column's Arrow type. */
  codecs?: string[];
  types?: Record<string, string>;
}

/**
 * Downloads an exported object and reads it with readers independent of the writer (Python's gzip, brotli and
 * zstandard for JSON lines; pyarrow or DuckDB for Parquet): see read_export.py.
 */
export async function readExportedObject(
  client: S3Client,
  bucket: string,
  key: string,
  format: {
    file_format: 'JSONLines' | 'Parquet';
    compression: string | null;
    reader?: 'pyarrow' | 'duckdb';
    /** Parquet with pyarrow: read only these columns. */
    columns?: string[];
  },
): Promise<ReadBack> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'export-read-'));
  try {
    const file = path.join(directory, 'object');
    await writeFile(file, await getObject(client, bucket, key));
    const script = path.join(__dirname, 'read_export.py');
    const args = [script, file, format.file_format, format.compression ?? 'none', format.reader ?? 'pyarrow'];
    if (format.columns) args.push(format.columns.join(','));
    const { stdout } = await execFileAsync('python3', args, { maxBuffer: 1024 * 1024 * 1024 });
    return JSON.parse(stdout) as ReadBack;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
