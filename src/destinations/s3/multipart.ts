import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { classifyS3Error } from './errors';

export interface MultipartTarget {
  bucket: string;
  key: string;
  contentType: string;
  encryption?: 'AES256' | 'aws:kms' | null;
  kmsKeyId?: string | null;
}

/** Parts uploading at once per file; more only adds memory once the link is saturated. */
const MAX_PARTS_IN_FLIGHT = 2;

/**
 * Uploads one object as a multipart upload: bytes are buffered up to `partSize` and sent as numbered parts, at most
 * MAX_PARTS_IN_FLIGHT at a time, so memory stays bounded by the part size whatever the object's size.
 */
export class MultipartUpload {
  private uploadId: string | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  bytesWritten = 0;

  constructor(
    private readonly client: S3Client,
    private readonly target: MultipartTarget,
    private readonly partSize: number,
  ) {}

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    this.bytesWritten += bytes.length;
    if (this.bufferedBytes >= this.partSize) await this.flushPart();
  }

  /** Uploads what is left and completes the object. */
  async complete(): Promise<void> {
    // S3 needs at least one part, so an empty object is one empty part.
    if (this.bufferedBytes > 0 || this.parts.length + this.inFlight.size === 0) await this.flushPart();
    await this.drain();
    const uploadId = await this.ensureStarted();
    const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await this.call(() =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      ),
    );
  }

  /** Best effort: an upload left unfinished costs the user storage until a lifecycle rule removes it. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    if (!this.uploadId) return;
    await this.client
      .send(
        new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: this.uploadId }),
      )
      .catch(() => undefined);
  }

  private async flushPart(): Promise<void> {
    const body = Buffer.concat(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    const uploadId = await this.ensureStarted();
    const partNumber = this.parts.length + this.inFlight.size + 1;
    const upload = this.call(() =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
      ),
    ).then(
      (result) => {
        this.parts.push({ PartNumber: partNumber, ETag: result.ETag });
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    const tracked = upload.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    if (this.inFlight.size >= MAX_PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw classifyS3Error(this.failure, this.target);
  }

  private async ensureStarted(): Promise<string> {
    if (this.uploadId) return this.uploadId;
    const result = await this.call(() =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          ContentType: this.target.contentType,
          ServerSideEncryption: this.target.encryption ?? undefined,
          SSEKMSKeyId: this.target.kmsKeyId ?? undefined,
        }),
      ),
    );
    if (!result.UploadId) throw new Error('S3 returned no UploadId for CreateMultipartUpload');
    this.uploadId = result.UploadId;
    return this.uploadId;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw classifyS3Error(error, this.target);
    }
  }
}
