import type { CopyBatch } from '../../models/copy-stream';

export interface DiscardResult {
  records: number;
  /** What the rows would weigh as uncompressed JSON lines (one line and a newline each). */
  bytes: number;
}

/** Reads JSON-line rows (jsonLinesQuery, read with streamCopyBatches) to the end and counts them. */
export async function discardRows(
  rows: AsyncIterable<CopyBatch>,
  options: { signal?: AbortSignal; onBatch?: (progress: DiscardResult) => void } = {},
): Promise<DiscardResult> {
  const result = { records: 0, bytes: 0 };
  for await (const batch of rows) {
    options.signal?.throwIfAborted();
    for (let row = 0; row < batch.rows; row++) result.bytes += batch.lengths[row * batch.width]! + 1;
    result.records += batch.rows;
    options.onBatch?.(result);
  }
  return result;
}
