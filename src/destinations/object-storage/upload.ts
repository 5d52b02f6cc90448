import { createHash } from 'node:crypto';
import { SpareBuffers } from '../../buffers';
import type { ObjectStore, UploadedPart } from './store';

/** What is durably uploaded: the first parts, without a gap, and the writer's mark at the end of the last one. */
export interface DurableParts<M> {
  uploadId: string;
  parts: UploadedPart[];
  mark: M;
}

/**
 * Where parts are recorded as they are sent, outside the process: a part the store holds with the content recorded
 * for it is durable even when the attempt that sent it died before hearing back.
 */
export interface PartJournal<M> {
  /** Before a part is sent: the part is sent once this resolves. `md5` is the body's, in hex. */
  planned(part: { uploadId: string; number: number; size: number; md5: string }, mark: M): Promise<void>;
  /** After the store kept it, with the etag it gave. */
  stored(part: { uploadId: string; number: number; etag: string }): Promise<void>;
}

export interface UploadOptions<M> {
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
 * Uploads one object in parts: bytes are buffered up to the part size and sent as numbered parts, at most
 * MAX_PARTS_IN_FLIGHT at a time, so memory stays bounded by the part size whatever the object's size. Each `write`
 * carries a mark (e.g. rows written and the row cursor) describing the file once those bytes are in; a part ends on a
 * write boundary, so every durable part has an exact mark to resume from.
 */
export class ObjectUpload<M> {
  private uploadId: string | undefined;
  /** The next part's bytes so far, at the start of `part`. */
  private part: Buffer | null = null;
  private bufferedBytes = 0;
  /**
   * Buffers of parts the store took, for the next parts. Bytes are copied in as they are written, instead of kept
   * until the part is full and then concatenated: both the kept chunks and each part's fresh buffer outlived V8's
   * young collections, and their garbage grew the worker's memory by tens of MB between full collections.
   */
  private readonly spareParts = new SpareBuffers(MAX_PARTS_IN_FLIGHT);
  private lastMark: M | undefined;
  private readonly finished = new Map<number, { part: UploadedPart; mark: M }>();
  private durable: UploadedPart[] = [];
  private nextPartNumber = 1;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  bytesWritten = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly target: { key: string; contentType: string },
    private readonly options: UploadOptions<M>,
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
    this.append(bytes);
    this.bytesWritten += bytes.length;
    if (this.bufferedBytes >= this.options.partSize) await this.flushPart();
  }

  /**
   * Copies `bytes` behind the part's bytes so far. The first part's buffer doubles as it fills, so that a small file
   * holds a small buffer, up to a quarter more than a part (the write that fills a part overshoots it); later parts
   * take the buffers of parts the store took.
   */
  private append(bytes: Buffer): void {
    const needed = this.bufferedBytes + bytes.length;
    if (!this.part || needed > this.part.length) {
      const capacity = Math.max(needed, Math.min(2 * (this.part?.length ?? 0), this.options.partSize * 1.25));
      const larger = Buffer.from(this.spareParts.take(needed, capacity));
      this.part?.copy(larger, 0, 0, this.bufferedBytes);
      this.part = larger;
    }
    bytes.copy(this.part, this.bufferedBytes);
    this.bufferedBytes = needed;
  }

  /** The part's bytes; the next write starts a new part. */
  private takePart(): Buffer {
    const body = this.part ? this.part.subarray(0, this.bufferedBytes) : Buffer.alloc(0);
    this.part = null;
    this.bufferedBytes = 0;
    return body;
  }

  /**
   * Uploads what is left and completes the object. An object smaller than a part, with no upload started, is put
   * in one request instead of three: most intervals of a frequent export are small files. An aborted `signal`
   * (a cancelled attempt) stops it before the object is made, also after waiting for the parts in flight.
   */
  async complete(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const { key, contentType } = this.target;
    if (!this.uploadId && this.nextPartNumber === 1) {
      const body = this.takePart();
      await this.call(() => this.store.put(key, body, contentType));
      return;
    }
    // S3 needs at least one part, so an empty (resumed) upload gets one empty part.
    if (this.bufferedBytes > 0 || this.nextPartNumber === 1) await this.flushPart();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    signal?.throwIfAborted();
    const uploadId = await this.ensureStarted();
    await this.call(() => this.store.completeUpload({ key, uploadId }, this.durable, contentType));
  }

  /** Best effort: an upload left unfinished costs the user storage until a lifecycle rule removes it. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    if (this.uploadId) await this.store.abortUpload({ key: this.target.key, uploadId: this.uploadId });
  }

  private async flushPart(): Promise<void> {
    const body = this.takePart();
    const mark = this.lastMark as M;
    const uploadId = await this.ensureStarted();
    const number = this.nextPartNumber++;
    const journal = this.options.journal;
    let md5: string | undefined;
    if (journal) {
      md5 = createHash('md5').update(body).digest('hex');
      await journal.planned({ uploadId, number, size: body.length, md5 }, mark);
    }
    const upload = this.call(() => this.store.uploadPart({ key: this.target.key, uploadId }, number, body, md5))
      .then(async (etag) => {
        // The store has read the whole body: its buffer may take a later part. (A failed request's buffer is
        // left alone, in case a socket is still sending it.)
        if (body.length > 0) this.spareParts.give(body.buffer as ArrayBuffer);
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
    if (this.failure !== undefined) throw this.store.classify(this.failure, this.target.key);
  }

  private async ensureStarted(): Promise<string> {
    this.uploadId ??= await this.call(() => this.store.startUpload(this.target.key, this.target.contentType));
    return this.uploadId;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.store.classify(error, this.target.key);
    }
  }
}
