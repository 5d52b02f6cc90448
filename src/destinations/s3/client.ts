import { S3Client } from '@aws-sdk/client-s3';
import type { S3DestinationConfig } from './config';

/** An S3 client for one destination. Credentials come from the config, or the default AWS chain when absent. */
export function createS3Client(config: S3DestinationConfig): S3Client {
  const custom = Boolean(config.endpoint_url);
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint_url ?? undefined,
    // Path style unless asked otherwise: S3-compatible stores rarely serve bucket subdomains.
    forcePathStyle: custom ? !config.use_virtual_style_addressing : false,
    credentials:
      config.aws_access_key_id && config.aws_secret_access_key
        ? { accessKeyId: config.aws_access_key_id, secretAccessKey: config.aws_secret_access_key }
        : undefined,
    // Several S3-compatible stores reject the CRC32 checksum headers the SDK sends by default.
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    // Retries belong to the activity, which resumes from its heartbeat; the SDK's own are kept short.
    maxAttempts: 3,
  });
}
