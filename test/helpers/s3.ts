import { gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';

export const TEST_CREDENTIALS = { aws_access_key_id: 'testing', aws_secret_access_key: 'testing-secret' };

export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_CREDENTIALS.aws_access_key_id, secretAccessKey: TEST_CREDENTIALS.aws_secret_access_key },
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
export async function readJsonLinesGz(client: S3Client, bucket: string, key: string): Promise<Record<string, unknown>[]> {
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
