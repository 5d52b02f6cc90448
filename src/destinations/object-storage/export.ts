import { createHash, type Hash } from 'node:crypto';
import { isRetryable } from '../../errors';
import type { FileEncoder } from '../../formats';
import type { CopyBatch } from '../../models/copy-stream';
import type { S3DestinationConfig } from '../s3/config';
import { intervalKeyPrefix, manifestKey, objectKey } from '../s3/keys';
import {
  deleteListedObjectsNotIn,
  deleteStoredObjectIfAllowed,
  listStoredKeys,
  sha256OfStoredObject,
  StaleFilesNotRemoved,
} from './interval-files';
import { putStoredManifest, type ManifestField } from './manifest';
import { progressTotals, type ExportedFile, type FileMark, type ObjectExportProgress } from './progress';
import type { ObjectStore } from './store';
import { ObjectUpload, type PartJournal } from './upload';

/** How an export lays out and encodes its files: the same config fields in every object store. */
export type FileLayout = Pick<S3DestinationConfig, 'prefix' | 'file_format' | 'compression' | 'max_file_size_mb'>;

export interface ObjectExportResult {
  records: number;
  bytes: number;
  /** Every file of the interval, each with its SHA-256 (null when it could not be read back). */
  files: CheckedFile[];
  manifestKey: string;
  /** Objects an earlier export of the interval wrote that this one did not (deleted when `replace` is set). */
  deletedKeys: string[];
}

export interface ObjectExportOptions {
  store: ObjectStore;
  config: FileLayout;
  /** The model's name, for `{table}` in the prefix. */
  table: string;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  /** A new encoder for each file (or continued file). */
  createEncoder: () => FileEncoder;
  /** The interval's rows in a stable order, after the given row cursor (from the start when null). */
  readRows: (after: string[] | null) => AsyncIterable<CopyBatch>;
  partSizeBytes: number;
  /** Where a previous attempt stopped; its unfinished file must already be checked (uploadStillHolds). */
  resumeFrom?: ObjectExportProgress | null;
  signal?: AbortSignal;
  /** Called with durable progress only: what a retried attempt may continue from. */
  onProgress?: (progress: ObjectExportProgress) => void;
  /**
   * Replace what an earlier export of the interval wrote (a backfill): the interval's objects are listed once, before
   * the first file; its manifest is deleted then, and its files this export does not overwrite are deleted before the
   * new manifest is written.
   */
  replace?: boolean;
  /** For the manifest: the model's fields, in file order, and the source's row count (known once rows are read). */
  describe?: { model: string; schema: readonly ManifestField[]; sourceRecords: () => number | null };
  /** Something the user should know (logged as a WARNING for the run). */
  onWarning?: (message: string) => Promise<void> | void;
  /** Where the parts of a file that can be continued are recorded before they are sent. */
  partJournal?: (key: string) => PartJournal<FileMark>;
  /** Called once a file is complete in the store, before anything more is written; the export waits for it. */
  onFileFinished?: (progress: ObjectExportProgress) => Promise<void>;
}

/**
 * Encodes still in flight at once. Encoding runs off the event loop (libuv's pool, or a codec thread), so two keep
 * both cores busy while the next batch is read; more would only hold more batches in memory.
 */
const ENCODES_IN_FLIGHT = 2;

/** A file number no export reaches, to find where numbers go in a split file's key. */
const SPLIT_MARKER = 987_654_321;

export type CheckedFile = Omit<ExportedFile, 'sha256'> & { sha256: string | null };

interface OpenFile {
  file: ExportedFile;
  upload: ObjectUpload<FileMark>;
  encoder: FileEncoder;
  cursor: string[] | null;
  /** The file's bytes hashed as they are written; null for a file an earlier attempt began (hashed on read back). */
  hash: Hash | null;
}

/**
 * Writes an interval's rows to an object store: one file (or one per `max_file_size_mb`), uploaded in parts as it is produced,
 * then a manifest listing the files, last. An empty interval writes only the manifest. Progress is reported as parts
 * become durable; a retried attempt passes it back as `resumeFrom` and continues: after the last durable part when
 * the format allows, else from the start of the unfinished file. On a failure that will not be retried, the
 * unfinished upload is aborted.
 */
export async function exportObjects(options: ObjectExportOptions): Promise<ObjectExportResult> {
  const { store, config } = options;
  const keyInput = intervalOf(options);
  const maxFileBytes = config.max_file_size_mb ? config.max_file_size_mb * 1024 * 1024 : Infinity;
  const progress: ObjectExportProgress = structuredClone(
    options.resumeFrom ?? { files: [], cursor: null, current: null },
  );
  const report = () => options.onProgress?.(structuredClone(progress));

  const openFile = (): OpenFile => {
    const resumed = progress.current;
    const key =
      resumed?.key ??
      objectKey({
        ...keyInput,
        fileFormat: config.file_format,
        compression: config.compression,
        fileNumber: config.max_file_size_mb ? progress.files.length : undefined,
      });
    const file = { key, records: resumed?.mark.records ?? 0, bytes: 0 };
    const encoder = options.createEncoder();
    const upload = new ObjectUpload<FileMark>(
      store,
      { key, contentType: contentType(config) },
      {
        partSize: options.partSizeBytes,
        resume: resumed ?? undefined,
        onDurable: (durable) => {
          if (!encoder.continuable) return;
          progress.current = { key, ...durable };
          report();
        },
        journal: encoder.continuable ? options.partJournal?.(key) : undefined,
      },
    );
    return {
      file,
      upload,
      encoder,
      cursor: resumed?.mark.cursor ?? progress.cursor,
      hash: resumed ? null : createHash('sha256'),
    };
  };
  let current: OpenFile | null = null;

  const closeFile = async () => {
    const open = current!;
    const last = await open.encoder.finish();
    open.hash?.update(last);
    await open.upload.write(last, { records: open.file.records, cursor: open.cursor ?? [] });
    await open.upload.complete(options.signal);
    open.file.bytes = open.upload.bytesWritten;
    // A file an earlier attempt began is read back once: its first parts never passed through this process.
    const sha256 = open.hash ? open.hash.digest('hex') : await sha256OfStoredObject(store, open.file.key);
    if (sha256) open.file.sha256 = sha256;
    progress.files.push(open.file);
    progress.cursor = open.cursor;
    progress.current = null;
    current = null;
    await options.onFileFinished?.(structuredClone(progress));
    report();
  };

  // Batches whose encoding has started, oldest first; written to the upload in order.
  const pending: Array<{ encoded: Promise<Buffer>; count: number; cursor: string[] }> = [];
  const writeOldest = async () => {
    const batch = pending.shift()!;
    const bytes = await batch.encoded;
    const open = current!;
    open.file.records += batch.count;
    open.cursor = batch.cursor;
    open.hash?.update(bytes);
    await open.upload.write(bytes, { records: open.file.records, cursor: batch.cursor });
  };

  const manifest = manifestKey(keyInput);
  try {
    const earlier = options.replace ? await findEarlierFiles(options, manifest) : null;
    if (progress.current) current = openFile();
    for await (const batch of options.readRows(current?.cursor ?? progress.cursor)) {
      options.signal?.throwIfAborted();
      // Files roll over between batches, so one may exceed max_file_size_mb by the batches still encoding.
      if (current && current.upload.bytesWritten >= maxFileBytes) {
        while (pending.length) await writeOldest();
        await closeFile();
      }
      current ??= openFile();
      pending.push({ encoded: current.encoder.encode(batch), count: batch.rows, cursor: batch.cursor });
      // Encoders have read the batch once encode returned (FileEncoder): its buffer may take the next rows.
      batch.release?.();
      if (pending.length >= ENCODES_IN_FLIGHT) await writeOldest();
    }
    while (pending.length) await writeOldest();
    // A cancelled attempt stops before it completes a file (see complete) or writes the manifest.
    if (current) await closeFile();
    const files = await withChecksums(store, progress.files);
    options.signal?.throwIfAborted();
    const deletedKeys = earlier ? await deleteStaleFiles(options, earlier, files) : [];
    const totals = progressTotals(progress);
    await putStoredManifest(store, config, manifest, {
      ...keyInput,
      ...totals,
      files,
      model: options.describe?.model ?? options.table,
      schema: options.describe?.schema ?? null,
      sourceRecords: options.describe?.sourceRecords() ?? null,
    });
    return { ...totals, files, manifestKey: manifest, deletedKeys };
  } catch (error) {
    await Promise.allSettled(pending.map((batch) => batch.encoded));
    const open = current as OpenFile | null;
    if (open) {
      await open.encoder.discard();
      // A retried attempt continues the upload; otherwise nothing will, and it would cost the user storage.
      const retried = open.encoder.continuable && !options.signal?.aborted && isRetryable(store.classify(error).kind);
      if (!retried) await open.upload.abort();
    }
    throw error;
  }
}

function contentType(config: FileLayout): string {
  if (config.file_format === 'Parquet') return 'application/vnd.apache.parquet';
  return config.compression ? 'application/octet-stream' : 'application/x-ndjson';
}

/** The files with their SHA-256s: a file an earlier attempt finished without one (an older version) is read back. */
async function withChecksums(store: ObjectStore, files: ExportedFile[]): Promise<CheckedFile[]> {
  const checked: CheckedFile[] = [];
  for (const file of files) {
    checked.push({ ...file, sha256: file.sha256 ?? (await sha256OfStoredObject(store, file.key)) });
  }
  return checked;
}

/** The interval whose keys the export writes: what its file keys, manifest key and key prefix are made of. */
function intervalOf(options: ObjectExportOptions) {
  return {
    prefix: options.config.prefix,
    table: options.table,
    dataIntervalStart: options.dataIntervalStart,
    dataIntervalEnd: options.dataIntervalEnd,
  };
}

/** What an earlier export of the interval left that this one may delete, as found before the first file. */
interface EarlierFiles {
  /** The interval's files named as this export names them. */
  keys: string[];
  /** Set when the credentials may not list: the stale files stay, and the run says so at the end. */
  refused: StaleFilesNotRemoved | null;
}

/**
 * Lists the interval's objects once, before the first file is written. The manifest an earlier export wrote is
 * deleted: while the interval is rewritten no manifest claims it complete. It is kept when the credentials may not
 * delete, and by a resumed attempt, whose first attempt deleted it already. Only the files named as this export
 * names them are remembered for deleteStaleFiles: objects named otherwise under the prefix are not this export's to
 * delete (another export sharing the prefix, say).
 */
async function findEarlierFiles(options: ObjectExportOptions, manifest: string): Promise<EarlierFiles> {
  const deletesManifest = !options.resumeFrom;
  let keys: string[];
  try {
    keys = await listStoredKeys(options.store, intervalKeyPrefix(intervalOf(options)));
  } catch (error) {
    if (!(error instanceof StaleFilesNotRemoved)) throw error;
    // Without a listing, whether a manifest is there is not known: its delete is tried, as credentials may delete
    // what they may not list.
    if (deletesManifest) await deleteStoredObjectIfAllowed(options.store, manifest);
    return { keys: [], refused: error };
  }
  if (deletesManifest && keys.includes(manifest)) await deleteStoredObjectIfAllowed(options.store, manifest);
  return { keys: keys.filter(namesFileOf(options)), refused: null };
}

/** Whether a key is one of the interval's files as this export names them: one file, or `-0`, `-1`, ... */
function namesFileOf(options: ObjectExportOptions): (key: string) => boolean {
  const keyInput = {
    ...intervalOf(options),
    fileFormat: options.config.file_format,
    compression: options.config.compression,
  };
  const single = objectKey(keyInput);
  const [head, tail] = objectKey({ ...keyInput, fileNumber: SPLIT_MARKER }).split(String(SPLIT_MARKER)) as [
    string,
    string,
  ];
  return (key) =>
    key === single ||
    (key.startsWith(head) && key.endsWith(tail) && /^\d+$/.test(key.slice(head.length, key.length - tail.length)));
}

/**
 * Deletes the earlier export's files (as findEarlierFiles listed them) other than `files`, without listing again; a
 * refusal to list or delete them is a warning, not a failure.
 */
async function deleteStaleFiles(
  options: ObjectExportOptions,
  earlier: EarlierFiles,
  files: CheckedFile[],
): Promise<string[]> {
  let refused = earlier.refused;
  if (!refused) {
    try {
      return await deleteListedObjectsNotIn(options.store, earlier.keys, new Set(files.map((file) => file.key)));
    } catch (error) {
      if (!(error instanceof StaleFilesNotRemoved)) throw error;
      refused = error;
    }
  }
  await options.onWarning?.(refused.message);
  return [];
}
