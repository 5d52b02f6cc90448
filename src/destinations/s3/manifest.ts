import type { S3Client } from '@aws-sdk/client-s3';
import { putStoredManifest, type ManifestContent } from '../object-storage/manifest';
import type { S3DestinationConfig } from './config';
import { s3Store } from './store';

// Every object store writes the same manifest (src/destinations/object-storage/manifest.ts).
export { manifestBody, type ManifestContent, type ManifestField } from '../object-storage/manifest';

export async function putManifest(
  client: S3Client,
  config: S3DestinationConfig,
  key: string,
  content: ManifestContent,
): Promise<void> {
  const store = s3Store(client, {
    bucket: config.bucket_name,
    encryption: config.encryption,
    kmsKeyId: config.kms_key_id,
  });
  await putStoredManifest(store, config, key, content);
}
