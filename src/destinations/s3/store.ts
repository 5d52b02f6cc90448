import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectStore, UnfinishedUpload } from '../object-storage/store';
import { classifyS3Error } from './errors';

/** How an S3 store writes its objects. */
export interface S3StoreOptions {
  bucket: string;
  encryption?: 'AES256' | 'aws:kms' | null;
  kmsKeyId?: string | null;
}

/** One bucket of an S3 client as the object-storage export sees it: multipart uploads are its uploads of parts. */
export function s3Store(client: S3Client, options: S3StoreOptions): ObjectStore {
  const Bucket = options.bucket;
  const encryption = {
    ServerSideEncryption: options.encryption ?? undefined,
    SSEKMSKeyId: options.kmsKeyId ?? undefined,
  };
  return {
    where: `bucket "${Bucket}"`,
    deleteGrant: 's3:ListBucket and s3:DeleteObject on the prefix',
    classify: (error, key) => classifyS3Error(error, { bucket: Bucket, key }),
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: body,
          ContentLength: Buffer.byteLength(body),
          ContentType: contentType,
          ...encryption,
        }),
      );
    },
    async startUpload(key, contentType) {
      const result = await client.send(
        new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: contentType, ...encryption }),
      );
      if (!result.UploadId) throw new Error('S3 returned no UploadId for CreateMultipartUpload');
      return result.UploadId;
    },
    async uploadPart({ key, uploadId }, number, body) {
      const result = await client.send(
        new UploadPartCommand({
          Bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: number,
          Body: body,
          ContentLength: body.length,
        }),
      );
      return result.ETag ?? '';
    },
    async completeUpload({ key, uploadId }, parts) {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
        }),
      );
    },
    abortUpload: (upload) => abortS3Upload(client, Bucket, upload),
    async storedParts({ key, uploadId }) {
      const stored = new Map<number, { etag: string; size: number }>();
      try {
        let marker: string | undefined;
        do {
          const page = await client.send(
            new ListPartsCommand({ Bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
          );
          for (const part of page.Parts ?? []) {
            stored.set(part.PartNumber ?? 0, { etag: part.ETag ?? '', size: part.Size ?? -1 });
          }
          marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
        } while (marker);
      } catch (error) {
        if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
      }
      return stored;
    },
    async *unfinishedUploads(prefix) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await client.send(
          new ListMultipartUploadsCommand({
            Bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key && upload.UploadId) yield { key: upload.Key, uploadId: upload.UploadId };
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    },
    async *listKeys(prefix) {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async deleteObject(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async readObject(key) {
      const object = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      return object.Body as AsyncIterable<Uint8Array>;
    },
  };
}

/** Best effort, as an upload left behind is only storage until a lifecycle rule removes it. */
export async function abortS3Upload(client: S3Client, bucket: string, upload: UnfinishedUpload): Promise<void> {
  await client
    .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }))
    .catch(() => undefined);
}
