import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BatchExportError } from '../../errors';

/** The bucket's key of an `s3://bucket/key` location; a location in another bucket is refused. */
export function keyOf(bucket: string, location: string): string {
  const prefix = `s3://${bucket}/`;
  if (!location.startsWith(prefix)) {
    throw new BatchExportError(`The Iceberg table refers to ${location}, outside bucket "${bucket}"`, {
      kind: 'configuration',
    });
  }
  return location.slice(prefix.length);
}

export async function getFile(client: S3Client, bucket: string, location: string): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(bucket, location) }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

export async function putFile(client: S3Client, bucket: string, location: string, body: Buffer | string) {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: keyOf(bucket, location), Body: bytes, ContentLength: bytes.length }),
  );
  return bytes.length;
}

/** Best effort: files no snapshot refers to only cost storage; a refusal to delete must not fail a committed export. */
export async function deleteFiles(client: S3Client, bucket: string, locations: readonly string[]): Promise<number> {
  if (locations.length === 0) return 0;
  try {
    const response = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: locations.map((location) => ({ Key: keyOf(bucket, location) })), Quiet: true },
      }),
    );
    return locations.length - (response.Errors?.length ?? 0);
  } catch {
    return 0;
  }
}
