/**
 * Buffers someone is done with, kept for the next one that needs a buffer at least as large: a fresh buffer of
 * several MB per batch is garbage that V8 collects only with the whole heap, and it did, every batch or two
 * (docs/notes/issue-18-19-session-d.md). At most `max` are kept; the rest are left to the collector.
 */
export class SpareBuffers {
  private readonly spares: ArrayBuffer[] = [];

  constructor(private readonly max: number) {}

  /** A spare buffer of at least `size` bytes, or else a new one of `capacity` bytes (at least `size`). */
  take(size: number, capacity = size): ArrayBuffer {
    const index = this.spares.findIndex((buffer) => buffer.byteLength >= size);
    if (index >= 0) return this.spares.splice(index, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.ceil(Math.max(size, capacity))).buffer as ArrayBuffer;
  }

  give(buffer: ArrayBuffer): void {
    if (this.spares.length < this.max) this.spares.push(buffer);
  }

  /** Lets every spare go (to the collector). */
  clear(): void {
    this.spares.length = 0;
  }
}
