import type { CopyBatch } from '../../models/copy-stream';

export interface DiscardResult {
  records: number;
  /** What the rows would weigh as uncompressed JSON lines (one line and a newline each). */
  bytes: number;
}

/** Reads rows to the end and counts them, and their bytes as `weigh` weighs each batch. */
export async function discardRows(
  rows: AsyncIterable<CopyBatch>,
  weigh: (batch: CopyBatch) => number,
  options: { signal?: AbortSignal; onBatch?: (progress: DiscardResult) => void } = {},
): Promise<DiscardResult> {
  const result = { records: 0, bytes: 0 };
  for await (const batch of rows) {
    options.signal?.throwIfAborted();
    result.bytes += weigh(batch);
    result.records += batch.rows;
    options.onBatch?.(result);
  }
  return result;
}
