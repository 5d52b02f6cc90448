import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * Compresses a file chunk by chunk. Each `compress` result is the next bytes of the file; `finish` returns the
 * last ones. Work runs on libuv's thread pool, so the event loop keeps reading rows meanwhile.
 */
export interface Compressor {
  compress(chunk: Buffer): Promise<Buffer>;
  finish(): Promise<Buffer>;
  /**
   * True when each `compress` result can be decompressed on its own and results concatenate into a valid file
   * (gzip members): a file can then be resumed after any chunk.
   */
  readonly chunksAreIndependent: boolean;
}

// Level 1: the export competes with `gzip -1` pipelines on throughput, and higher levels cost ~3x the CPU for a few
// percent of size on event JSON.
const GZIP_LEVEL = 1;

const gzip = promisify(zlib.gzip);

/** One gzip member per chunk: members concatenate into a valid gzip file that any gunzip reads whole. */
class GzipMembers implements Compressor {
  readonly chunksAreIndependent = true;
  compress(chunk: Buffer): Promise<Buffer> {
    return gzip(chunk, { level: GZIP_LEVEL });
  }
  async finish(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** One brotli stream for the whole file, flushed after each chunk so its bytes can be uploaded. */
class BrotliStream implements Compressor {
  readonly chunksAreIndependent = false;
  private readonly stream = zlib.createBrotliCompress({
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 },
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

export type CompressionName = 'gzip' | 'brotli' | null;

export function createCompressor(compression: CompressionName): Compressor {
  switch (compression) {
    case 'gzip':
      return new GzipMembers();
    case 'brotli':
      return new BrotliStream();
    case null:
      return new Identity();
  }
}
