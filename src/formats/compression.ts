import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { compressZstd } from './zstd';

/**
 * Compresses a file chunk by chunk. Each `compress` result is the next bytes of the file; `finish` returns the
 * last ones. Calls may overlap: results come in call order.
 */
export interface Compressor {
  compress(chunk: Buffer): Promise<Buffer>;
  finish(): Promise<Buffer>;
  /**
   * True when each `compress` result stands alone and results concatenate into a valid file (gzip members, zstd
   * frames): a file can be continued after any chunk by a new compressor, e.g. in a retried attempt.
   */
  readonly chunksAreIndependent: boolean;
}

export type TextCompression = 'gzip' | 'brotli' | 'zstd' | null;

// Level 1: the export competes with `gzip -1` pipelines on throughput, and higher levels cost ~3x the CPU for a few
// percent of size on event JSON.
const GZIP_LEVEL = 1;
// zstd level 1 compresses event JSON better than gzip -6, at several times gzip -1's speed.
const ZSTD_LEVEL = 1;
// Brotli's quality 4 is its speed/size knee for text; higher qualities are an order of magnitude slower.
const BROTLI_QUALITY = 4;

const gzip = promisify(zlib.gzip);
// zlib hands its output back in chunks of this size, one event-loop callback each: the 16 KiB default makes dozens
// of round trips per batch.
const ZLIB_CHUNK_BYTES = 1024 * 1024;

/** One gzip member per chunk, compressed on libuv's thread pool while the event loop reads the next rows. */
class GzipMembers implements Compressor {
  readonly chunksAreIndependent = true;
  compress(chunk: Buffer): Promise<Buffer> {
    return gzip(chunk, { level: GZIP_LEVEL, chunkSize: ZLIB_CHUNK_BYTES });
  }
  async finish(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** One zstd frame per chunk: frames concatenate into a valid zstd stream that any zstd decoder reads whole. */
class ZstdFrames implements Compressor {
  readonly chunksAreIndependent = true;
  compress(chunk: Buffer): Promise<Buffer> {
    return compressZstd(chunk, ZSTD_LEVEL);
  }
  async finish(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** One brotli stream for the whole file (brotli has no concatenable members), flushed after each chunk. */
class BrotliStream implements Compressor {
  readonly chunksAreIndependent = false;
  private readonly stream = zlib.createBrotliCompress({
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY },
  });
  private output: Buffer[] = [];

  constructor() {
    this.stream.on('data', (data: Buffer) => this.output.push(data));
  }

  compress(chunk: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.stream.write(chunk, (error) => {
        if (error) return reject(error);
        this.stream.flush(zlib.constants.BROTLI_OPERATION_FLUSH, () => resolve(this.take()));
      });
    });
  }

  finish(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.once('end', () => resolve(this.take()));
      this.stream.end();
      this.stream.resume();
    });
  }

  private take(): Buffer {
    const bytes = Buffer.concat(this.output);
    this.output = [];
    return bytes;
  }
}

class Identity implements Compressor {
  readonly chunksAreIndependent = true;
  async compress(chunk: Buffer): Promise<Buffer> {
    return chunk;
  }
  async finish(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

export function createCompressor(compression: TextCompression): Compressor {
  switch (compression) {
    case 'gzip':
      return new GzipMembers();
    case 'zstd':
      return new ZstdFrames();
    case 'brotli':
      return new BrotliStream();
    case null:
      return new Identity();
  }
}
