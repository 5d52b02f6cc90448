import type { RowBatch } from '../../models/stream';

export interface DiscardResult {
  records: number;
  /** What the rows would weigh as uncompressed JSON lines (one line and a newline each). */
  bytes: number;
}

/** Reads JSON-line rows (jsonLinesQuery) to the end and counts them. */
export async function discardRows(
  rows: AsyncIterable<RowBatch>,
  options: { signal?: AbortSignal; onBatch?: (progress: DiscardResult) => void } = {},
): Promise<DiscardResult> {
  const result = { records: 0, bytes: 0 };
  for await (const batch of rows) {
    options.signal?.throwIfAborted();
    for (const row of batch.rows) result.bytes += Buffer.byteLength(row[0] as string, 'utf8') + 1;
    result.records += batch.rows.length;
    options.onBatch?.(result);
  }
  return result;
}
