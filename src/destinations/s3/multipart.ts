import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
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

/** A part S3 has stored: enough to complete the upload later, from another process. */
export interface UploadedPart {
  number: number;
  etag: string;
  size: number;
}

/** What is durably uploaded: the first parts, without a gap, and the writer's mark at the end of the last one. */
export interface DurableParts<M> {
  uploadId: string;
  parts: UploadedPart[];
  mark: M;
}

/**
 * Where parts are recorded as they are sent, outside the process: a part S3 holds with the content recorded for it
 * is durable even when the attempt that sent it died before hearing back.
 */
export interface PartJournal<M> {
  /** Before a part is sent: the part is sent once this resolves. `md5` is the body's, in hex. */
  planned(part: { uploadId: string; number: number; size: number; md5: string }, mark: M): Promise<void>;
  /** After S3 stored it, with the ETag it gave. */
  stored(part: { uploadId: string; number: number; etag: string }): Promise<void>;
}

export interface MultipartOptions<M> {
  /** Bytes per part (the last may be smaller). S3 takes 5 MiB to 5 GiB. */
  partSize: number;
  /** Continue an upload a previous attempt started, after its durable parts. */
  resume?: DurableParts<M>;
  /** Called whenever more parts are durable. */
  onDurable?: (durable: DurableParts<M>) => void;
  journal?: PartJournal<M>;
}

/** Parts uploading at once per file; more only adds memory once the link is saturated. */
const MAX_PARTS_IN_FLIGHT = 2;

/**
 * Uploads one object as a multipart upload: bytes are buffered up to the part size and sent as numbered parts, at
 * most MAX_PARTS_IN_FLIGHT at a time, so memory stays bounded by the part size whatever the object's size. Each
 * `write` carries a mark (e.g. rows written and the row cursor) describing the file once those bytes are in; a part
 * ends on a write boundary, so every durable part has an exact mark to resume from.
 */
export class MultipartUpload<M> {
  private uploadId: string | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private lastMark: M | undefined;
  private readonly finished = new Map<number, { part: UploadedPart; mark: M }>();
  private durable: UploadedPart[] = [];
  private nextPartNumber = 1;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  bytesWritten = 0;

  constructor(
    private readonly client: S3Client,
    private readonly target: MultipartTarget,
    private readonly options: MultipartOptions<M>,
  ) {
    const resume = options.resume;
    if (resume) {
      this.uploadId = resume.uploadId;
      this.durable = [...resume.parts];
      this.nextPartNumber = resume.parts.length + 1;
      this.bytesWritten = resume.parts.reduce((sum, part) => sum + part.size, 0);
    }
  }

  async write(bytes: Buffer, mark: M): Promise<void> {
    this.lastMark = mark;
    if (bytes.length === 0) return;
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    this.bytesWritten += bytes.length;
    if (this.bufferedBytes >= this.options.partSize) await this.flushPart();
  }

  /**
   * Uploads what is left and completes the object. An object smaller than a part, with no upload started, is put
   * in one request instead of three: most intervals of a frequent export are small files. An aborted `signal`
   * (a cancelled attempt) stops it before the object is made, also after waiting for the parts in flight.
   */
  async complete(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!this.uploadId && this.nextPartNumber === 1) {
      const body = Buffer.concat(this.buffered);
      this.buffered = [];
      this.bufferedBytes = 0;
      await this.call(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            Body: body,
            ContentLength: body.length,
            ContentType: this.target.contentType,
            ServerSideEncryption: this.target.encryption ?? undefined,
            SSEKMSKeyId: this.target.kmsKeyId ?? undefined,
          }),
        ),
      );
      return;
    }
    // S3 needs at least one part, so an empty (resumed) upload gets one empty part.
    if (this.bufferedBytes > 0 || this.nextPartNumber === 1) await this.flushPart();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    signal?.throwIfAborted();
    const uploadId = await this.ensureStarted();
    await this.call(() =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: this.durable.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
        }),
      ),
    );
  }

  /** Best effort: an upload left unfinished costs the user storage until a lifecycle rule removes it. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    if (this.uploadId) await abortUpload(this.client, this.target.bucket, this.target.key, this.uploadId);
  }

  private async flushPart(): Promise<void> {
    const body = Buffer.concat(this.buffered);
    const mark = this.lastMark as M;
    this.buffered = [];
    this.bufferedBytes = 0;
    const uploadId = await this.ensureStarted();
    const number = this.nextPartNumber++;
    const journal = this.options.journal;
    if (journal) {
      const md5 = createHash('md5').update(body).digest('hex');
      await journal.planned({ uploadId, number, size: body.length, md5 }, mark);
    }
    const upload = this.call(() =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          UploadId: uploadId,
          PartNumber: number,
          Body: body,
          ContentLength: body.length,
        }),
      ),
    )
      .then(async (result) => {
        const etag = result.ETag ?? '';
        await journal?.stored({ uploadId, number, etag });
        this.partFinished({ number, etag, size: body.length }, mark);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      });
    const tracked = upload.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    if (this.inFlight.size >= MAX_PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Parts finish out of order; only a gapless run from part 1 is durable progress. */
  private partFinished(part: UploadedPart, mark: M): void {
    this.finished.set(part.number, { part, mark });
    let last: M | undefined;
    for (
      let next = this.finished.get(this.durable.length + 1);
      next;
      next = this.finished.get(this.durable.length + 1)
    ) {
      this.durable.push(next.part);
      this.finished.delete(next.part.number);
      last = next.mark;
    }
    if (last !== undefined && this.uploadId) {
      this.options.onDurable?.({ uploadId: this.uploadId, parts: [...this.durable], mark: last });
    }
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

export async function abortUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await client
    .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
    .catch(() => undefined);
}
