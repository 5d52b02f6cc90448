import { streams, type Schema } from 'avsc';

/**
 * An Avro object container file (the format of Iceberg's manifests and manifest lists) holding `records`, with
 * `metadata` as the file's key-value metadata. The schema is written as given, so its Iceberg attributes
 * (`field-id`, `element-id`) reach readers, which match fields by them.
 */
export function encodeAvroFile(
  schema: object,
  records: readonly unknown[],
  metadata: Record<string, string>,
): Promise<Buffer> {
  const encoder = new streams.BlockEncoder(schema as Schema, {
    codec: 'deflate',
    // A file without records still needs its header (an empty table's manifest list): avsc writes it lazily otherwise.
    writeHeader: 'always',
    // Typed without it, taken at runtime: the header's key-value metadata.
    ...({
      metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value)])),
    } as object),
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  return done;
}

/** The records of an Avro object container file, decoded with the schema it was written with. */
export function decodeAvroFile<T>(bytes: Buffer): Promise<T[]> {
  const decoder = new streams.BlockDecoder();
  const records: T[] = [];
  const done = new Promise<T[]>((resolve, reject) => {
    decoder.on('data', (record: T) => records.push(record));
    decoder.on('end', () => resolve(records));
    decoder.on('error', reject);
  });
  decoder.end(bytes);
  return done;
}
