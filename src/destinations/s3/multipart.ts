import type { S3Client } from '@aws-sdk/client-s3';
import { ObjectUpload, type UploadOptions } from '../object-storage/upload';
import { abortS3Upload, s3Store } from './store';

// The upload itself is shared with the other object stores (src/destinations/object-storage/upload.ts).
export type { UploadedPart } from '../object-storage/store';
export type { DurableParts, PartJournal } from '../object-storage/upload';
export type MultipartOptions<M> = UploadOptions<M>;

export interface MultipartTarget {
  bucket: string;
  key: string;
  contentType: string;
  encryption?: 'AES256' | 'aws:kms' | null;
  kmsKeyId?: string | null;
}

/**
 * Uploads one object to S3 as a multipart upload (see ObjectUpload): bytes are sent as numbered parts of the part
 * size, so memory stays bounded whatever the object's size; an object smaller than a part is put in one request.
 */
export class MultipartUpload<M> extends ObjectUpload<M> {
  constructor(client: S3Client, target: MultipartTarget, options: MultipartOptions<M>) {
    super(
      s3Store(client, { bucket: target.bucket, encryption: target.encryption, kmsKeyId: target.kmsKeyId }),
      target,
      options,
    );
  }
}

export async function abortUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await abortS3Upload(client, bucket, { key, uploadId });
}
