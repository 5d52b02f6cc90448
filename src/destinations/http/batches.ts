import { createCompressor } from '../../formats/compression';
import type { CopyBatch } from '../../models/copy-stream';
import type { ModelQuery } from '../../models/types';
import { IDEMPOTENCY_HEADER, type HttpBodyFormat, type HttpDestinationConfig } from './config';

/** One POST's worth of rows, cut the same way on every attempt so that a batch number always means the same rows. */
export interface HttpBatch {
  /** 1-based, within the interval: part of the idempotency key. */
  number: number;
  /** One JSON object per row, as Postgres rendered it. */
  rows: Buffer[];
  /** Bytes of the rows with one separator each (what max_batch_bytes limits). */
  bytes: number;
  /** The model's `orderBy` values of the last row, as text: a resumed attempt reads the rows after it. */
  cursor: string[];
}

/**
 * Cuts rows read with a cursor (`jsonLinesQuery(query, { withCursor: true })`) into batches of at most `maxRows`
 * rows and `maxBytes` bytes (a row larger than that goes alone). The cut depends only on the rows and the limits,
 * never on how the source delivered them, so an attempt resuming after batch n cuts batch n + 1 as its
 * predecessor did and sends it under the same idempotency key.
 */
export async function* cutBatches(
  source: AsyncIterable<CopyBatch>,
  limits: { maxRows: number; maxBytes: number; firstNumber: number },
): AsyncGenerator<HttpBatch> {
  let current: HttpBatch = { number: limits.firstNumber, rows: [], bytes: 0, cursor: [] };
  // The last row taken, whose cursor is read only when its batch ends (not as text for every row).
  let last: { batch: CopyBatch; at: number } | null = null;
  const finish = () => {
    const done = { ...current, cursor: rowCursor(last!.batch, last!.at) };
    current = { number: current.number + 1, rows: [], bytes: 0, cursor: [] };
    return done;
  };
  for await (const batch of source) {
    for (let row = 0; row < batch.rows; row++) {
      const at = row * batch.width;
      // A view, not a copy: the COPY reader makes a new buffer for every batch and never writes to it again.
      const line = batch.data.subarray(batch.starts[at]!, batch.starts[at]! + batch.lengths[at]!);
      const size = line.length + 1;
      if (current.rows.length && current.bytes + size > limits.maxBytes) yield finish();
      current.rows.push(line);
      current.bytes += size;
      last = { batch, at };
      if (current.rows.length >= limits.maxRows) yield finish();
    }
  }
  if (current.rows.length) yield finish();
}

/**
 * Keeps `source` one item ahead of its consumer: the next batch is read and encoded while this one is being sent.
 * Closing this closes `source` (the source's COPY connection goes back to its pool).
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let pending = source.next();
  try {
    for (;;) {
      const result = await pending;
      if (result.done) return;
      pending = source.next();
      // Awaited on the next turn; a failure while the consumer is busy must not go unhandled meanwhile.
      pending.catch(() => undefined);
      yield result.value;
    }
  } finally {
    await source.return(undefined).catch(() => undefined);
  }
}

/** The cursor columns (every column after the line) of the row starting at field `at`. */
function rowCursor(batch: CopyBatch, at: number): string[] {
  const cursor: string[] = [];
  for (let column = 1; column < batch.width; column++) {
    const start = batch.starts[at + column]!;
    cursor.push(batch.data.toString('utf8', start, start + batch.lengths[at + column]!));
  }
  return cursor;
}

/** The fields of an event in the capture `/batch` shape, in the order they are written. */
const CAPTURE_FIELDS = ['event', 'distinct_id', 'properties', 'timestamp', 'uuid'];

/**
 * The query's rows as the body format wants them: every field of the model for JSON lines; an event's `event`,
 * `distinct_id`, `properties` (with its `$set`/`$set_once`), `timestamp` and `uuid` for capture.
 */
export function rowFields(query: ModelQuery, format: HttpBodyFormat): ModelQuery {
  if (format === 'JSONLines') return query;
  const fields = CAPTURE_FIELDS.map((name) => query.fields.find((field) => field.name === name)!);
  return { ...query, fields };
}

/** The body of a POST: the capture envelope around the rows, or the rows as JSON lines. */
export function renderBody(format: HttpBodyFormat, rows: readonly Buffer[], token: string | undefined): Buffer {
  if (format === 'JSONLines') return Buffer.concat(rows.flatMap((row) => [row, NEWLINE]));
  const head = `{${token === undefined ? '' : `"api_key":${JSON.stringify(token)},`}"historical_migration":true,"batch":[`;
  const parts: Buffer[] = [Buffer.from(head)];
  rows.forEach((row, i) => parts.push(...(i ? [COMMA, row] : [row])));
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from('\n');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/**
 * The idempotency key of a batch: the export, the interval (both ends: an export whose interval changed from hour
 * to day has intervals starting at the same time) and the batch number. The same on every retry and every attempt.
 */
export function idempotencyKey(batchExportId: string, start: string, end: string, batchNumber: number): string {
  return `${batchExportId}:${start}-${end}:${batchNumber}`;
}

/** A batch's POST: its body (gzipped when configured) and headers, the idempotency key among them. */
export async function encodeBatch(
  config: HttpDestinationConfig,
  rows: readonly Buffer[],
  key: string,
): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const body = renderBody(config.format, rows, config.token);
  const headers: Record<string, string> = {
    'user-agent': 'batch-exports/1',
    ...config.headers,
    'content-type': config.format === 'capture' ? 'application/json' : 'application/x-ndjson',
    [IDEMPOTENCY_HEADER]: key,
  };
  if (config.format === 'JSONLines' && config.token) headers.authorization = `Bearer ${config.token}`;
  if (config.compression !== 'gzip') return { body, headers };
  // One gzip member, at the level (and on the thread pool) S3's gzip files are compressed with.
  const gzip = createCompressor('gzip');
  const compressed = Buffer.concat([await gzip.compress(body), await gzip.finish()]);
  return { body: compressed, headers: { ...headers, 'content-encoding': 'gzip' } };
}
