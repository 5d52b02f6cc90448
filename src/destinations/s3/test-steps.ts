import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import type { DestinationTestStep, TestStepContext } from '../contract';
import { DestinationRefusedError, errorMessage } from '../../errors';
import { createS3Client } from './client';
import type { S3DestinationConfig } from './config';
import { classifyS3Error } from './errors';
import { renderPrefix } from './keys';

/** Runs `fn` with a client for the config; the client is closed afterwards. */
async function withClient<T>(
  config: S3DestinationConfig,
  context: TestStepContext,
  fn: (client: ReturnType<typeof createS3Client>) => Promise<T>,
): Promise<T> {
  const client = createS3Client(config, context.access);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/**
 * HEAD on the bucket answers both "do the credentials work?" and "does the bucket exist?": 403 is the first
 * question's no, 404 the second's. HEAD responses carry no error body, so the status code is all there is.
 */
async function headBucket(config: S3DestinationConfig, context: TestStepContext): Promise<number> {
  return withClient(config, context, async (client) => {
    try {
      await client.send(new HeadBucketCommand({ Bucket: config.bucket_name }), { abortSignal: context.signal });
      return 200;
    } catch (error) {
      if (error instanceof DestinationRefusedError) throw error;
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode) return error.$metadata.httpStatusCode;
      const where = config.endpoint_url ?? `S3 in region ${config.region}`;
      throw new Error(`Could not reach ${where}: ${errorMessage(error)}`, { cause: error });
    }
  });
}

export const S3_TEST_STEPS: readonly DestinationTestStep<S3DestinationConfig>[] = [
  {
    name: 'Connect with the credentials',
    description: 'Sends a request to S3 with the given endpoint, region and credentials.',
    async run(config, context) {
      const status = await headBucket(config, context);
      if (status === 401 || status === 403) {
        throw new Error(
          'S3 rejected the credentials, or they may not access this bucket: check aws_access_key_id, ' +
            'aws_secret_access_key and that they allow s3:ListBucket on the bucket',
        );
      }
    },
  },
  {
    name: 'Check the bucket exists',
    description: 'Looks the bucket up in the given region.',
    async run(config, context) {
      const status = await headBucket(config, context);
      if (status === 404) throw new Error(`Bucket "${config.bucket_name}" does not exist: check bucket_name`);
      if (status === 301 || status === 400) throw new Error('The bucket is in another region: check region');
      if (status >= 300) throw new Error(`S3 answered HTTP ${status} when looking up the bucket`);
    },
  },
  {
    name: 'Write and delete a test object',
    description: 'Uploads a small object under the prefix, with the configured encryption, then deletes it.',
    async run(config, context) {
      await withClient(config, context, async (client) => {
        const now = new Date();
        const prefix = renderPrefix(config.prefix, { table: 'events', dataIntervalStart: now, dataIntervalEnd: now });
        const key = `${prefix.replace(/\/+$/, '')}${prefix ? '/' : ''}batch-export-test-${randomUUID()}.txt`;
        const bucket = config.bucket_name;
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: 'Written by a batch export connection test; safe to delete.',
              ServerSideEncryption: config.encryption ?? undefined,
              SSEKMSKeyId: config.kms_key_id ?? undefined,
            }),
            { abortSignal: context.signal },
          );
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: context.signal });
        } catch (error) {
          throw classifyS3Error(error, { bucket, key });
        }
      });
    },
  },
];
