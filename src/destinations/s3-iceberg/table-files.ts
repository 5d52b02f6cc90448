import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
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

/**
 * Best effort: files no snapshot refers to only cost storage; a refusal to delete must not fail a committed export.
 * DeleteObjects takes at most 1,000 keys a request.
 */
export async function deleteFiles(client: S3Client, bucket: string, locations: readonly string[]): Promise<number> {
  let deleted = 0;
  for (let start = 0; start < locations.length; start += 1000) {
    const chunk = locations.slice(start, start + 1000);
    try {
      const response = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: chunk.map((location) => ({ Key: keyOf(bucket, location) })), Quiet: true },
        }),
      );
      deleted += chunk.length - (response.Errors?.length ?? 0);
    } catch {
      // Left for a later clean-up.
    }
  }
  return deleted;
}

/** The objects under a location prefix (`s3://bucket/...`), as locations, with when each was last written. */
export async function* listFiles(
  client: S3Client,
  bucket: string,
  prefix: string,
): AsyncIterable<{ location: string; lastModified: Date }> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: keyOf(bucket, prefix), ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key && object.LastModified) {
        yield { location: `s3://${bucket}/${object.Key}`, lastModified: object.LastModified };
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
