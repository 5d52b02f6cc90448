import type { BatchExportError } from '../../errors';

/** A part (S3) or block (Azure) the store holds: enough to complete the upload later, from another process. */
export interface UploadedPart {
  number: number;
  /** What the store answered for the part (S3's ETag; Azure's is the quoted MD5 its block id carries). */
  etag: string;
  size: number;
}

/** An upload the store holds unfinished: the parts of one object not yet made into it. */
export interface UnfinishedUpload {
  key: string;
  uploadId: string;
}

/**
 * What the object-storage export needs of a store (S3's buckets, Azure's containers): whole objects, objects made of
 * numbered parts sent one by one and committed at the end (S3's multipart uploads, Azure's blocks committed with a
 * block list), listing and deleting. One store is bound to one bucket or container, and to the settings its objects
 * are written with (S3's encryption). Every method throws the store's own errors; `classify` turns them into
 * BatchExportErrors.
 */
export interface ObjectStore {
  /** Writes a whole object in one request. */
  put(key: string, body: Buffer | string, contentType: string): Promise<void>;
  /** Starts an upload of parts; returns its id. */
  startUpload(key: string, contentType: string): Promise<string>;
  /** Sends part `number` (from 1) of an upload; returns its etag. `md5` (hex) is the body's, when already known. */
  uploadPart(upload: UnfinishedUpload, number: number, body: Buffer, md5?: string): Promise<string>;
  /** Makes the object of the parts, in order. */
  completeUpload(upload: UnfinishedUpload, parts: readonly UploadedPart[], contentType: string): Promise<void>;
  /** Best effort: discards what an unfinished upload holds. */
  abortUpload(upload: UnfinishedUpload): Promise<void>;
  /** The parts the store holds for an unfinished upload, by number; none when it is gone (completed, aborted). */
  storedParts(upload: UnfinishedUpload): Promise<Map<number, { etag: string; size: number }>>;
  /** The unfinished uploads of objects whose keys start with `prefix`. */
  unfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload>;
  /** The keys of the objects under `prefix`. */
  listKeys(prefix: string): AsyncIterable<string>;
  deleteObject(key: string): Promise<void>;
  readObject(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Maps an error of this store to a BatchExportError whose message tells the user what to fix. */
  classify(error: unknown, key?: string): BatchExportError;
  /** The bucket or container, for messages: `bucket "b"`, `container "c"`. */
  readonly where: string;
  /** What grants listing and deleting, for the warning when stale files could not be removed. */
  readonly deleteGrant: string;
}
