import type { ObjectStore } from './store';

/** A column of the exported rows, as the manifest describes it. */
export interface ManifestField {
  name: string;
  /** The model's field type: string, integer, float, boolean, timestamp, json or uuid. */
  type: string;
}

export interface ManifestContent {
  model: string;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  records: number;
  bytes: number;
  /** Rows the source held for the interval, counted in the snapshot the files were read from. */
  sourceRecords: number | null;
  /** `sha256` is null only for a file a resumed attempt finished and could not read back. */
  files: Array<{ key: string; records: number; bytes: number; sha256: string | null }>;
  schema: readonly ManifestField[] | null;
}

/** How the files of an export are written, as the manifest tells it. */
export interface FileSettings {
  file_format: string;
  compression: string | null;
}

/** Version 2 added the receipt: bytes, SHA-256s, source_records, model, format and schema. */
const MANIFEST_VERSION = 2;

/**
 * The interval's manifest, written last: its presence says the interval is complete, and it carries what a consumer
 * needs to verify the files without asking the API (row counts, sizes and SHA-256 per file, totals, the source's
 * own count, the rows' schema). README "Verifying an interval" shows how.
 */
export function manifestBody(config: FileSettings, content: ManifestContent): string {
  return JSON.stringify({
    version: MANIFEST_VERSION,
    model: content.model,
    data_interval_start: content.dataIntervalStart.toISOString(),
    data_interval_end: content.dataIntervalEnd.toISOString(),
    file_format: config.file_format,
    compression: config.compression,
    records: content.records,
    bytes: content.bytes,
    source_records: content.sourceRecords,
    files: content.files.map((file) => ({
      key: file.key,
      records: file.records,
      bytes: file.bytes,
      sha256: file.sha256,
    })),
    schema: content.schema,
  });
}

export async function putStoredManifest(
  store: ObjectStore,
  config: FileSettings,
  key: string,
  content: ManifestContent,
): Promise<void> {
  try {
    await store.put(key, manifestBody(config, content), 'application/json');
  } catch (error) {
    throw store.classify(error, key);
  }
}
