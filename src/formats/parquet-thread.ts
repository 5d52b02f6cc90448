import { createRequire } from 'node:module';
import { SpareBuffers } from '../buffers';
import { ScriptThread } from './thread';

/**
 * Parquet encoding (parquet-wasm: the Rust parquet writer in WebAssembly) runs on a worker thread, so that the
 * event loop reads and converts the next rows while the previous ones are encoded and compressed: both cores work.
 * One thread serves every open file of the process; each file is a streaming writer that emits a row group's bytes
 * as soon as the group is full, so memory holds about one row group per file, not the file.
 */
const PARQUET_WASM = createRequire(__filename).resolve('parquet-wasm');

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const parquet = require(${JSON.stringify(PARQUET_WASM)});
// Loading read the 5 MB WebAssembly file into a buffer that only a collection frees, and this thread's small heap is
// rarely collected: one full collection now. gc comes from a new context with the flag on just for that, then
// turned off again: the flag is process-wide, and contexts made later (Temporal's workflow sandboxes) must not see
// a gc global.
const v8 = require('node:v8');
v8.setFlagsFromString('--expose-gc');
require('node:vm').runInNewContext('gc')();
v8.setFlagsFromString('--no-expose-gc');
const files = new Map();

function open({ file, codec, rowGroupRows, plainColumns }) {
  const session = { chunks: [], taken: null, pump: null };
  session.input = new ReadableStream({
    start(controller) { session.controller = controller; },
    // Called when the writer has taken the queued batch: the sender may send the next one.
    pull() { const taken = session.taken; session.taken = null; if (taken) taken(); },
  }, { highWaterMark: 1 });
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression[codec])
    .setMaxRowGroupSize(rowGroupRows);
  for (const column of plainColumns) builder = builder.setColumnDictionaryEnabled(column, false);
  session.output = parquet.transformParquetStream(session.input, builder.build());
  session.output.catch(() => undefined);
  files.set(file, session);
}

async function write(request) {
  const { file } = request;
  const session = files.get(file);
  const taken = new Promise((resolve) => { session.taken = resolve; });
  // The table's WebAssembly memory is released by free(), not by the JS garbage collector: without it every batch
  // stayed in the WebAssembly heap for a while, and the heap only ever grows (+140 MB over a million events).
  // The IPC bytes are copied into WebAssembly here; their buffer goes back with the reply, for the next batch. (Left
  // to this thread's collector, 40-60 MB of spent batches stayed allocated: its tiny heap is rarely collected.)
  const table = parquet.Table.fromIPCStream(new Uint8Array(request.ipc, 0, request.length));
  try {
    for (const batch of table.recordBatches()) session.controller.enqueue(batch);
  } finally {
    table.free();
  }
  if (!session.pump) {
    session.pump = session.output.then(async (stream) => {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        session.chunks.push(value);
      }
    });
    // Awaited by later requests; a discarded file's failure must not go unhandled, which would end the thread.
    session.pump.catch(() => undefined);
  }
  await Promise.race([taken, session.pump]);
  return take(session);
}

async function finish({ file }) {
  const session = files.get(file);
  files.delete(file);
  session.controller.close();
  await session.pump;
  return take(session);
}

function take(session) {
  // Usually one row group's bytes, in a buffer of their own as the writer hands them out: sent as they are. A copy
  // would leave the original behind as garbage, and this thread's tiny heap is rarely collected (40+ MB stayed).
  const [only] = session.chunks;
  if (session.chunks.length === 1 && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
    session.chunks = [];
    return only;
  }
  const size = session.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of session.chunks) { bytes.set(chunk, at); at += chunk.length; }
  session.chunks = [];
  return bytes;
}

parentPort.on('message', async (request) => {
  try {
    let bytes = new Uint8Array(0);
    if (request.kind === 'open') open(request);
    else if (request.kind === 'write') bytes = await write(request);
    else if (request.kind === 'finish') bytes = await finish(request);
    else if (request.kind === 'discard') { files.get(request.file)?.controller.error(new Error('discarded')); files.delete(request.file); }
    const spare = request.kind === 'write' ? request.ipc : undefined;
    parentPort.postMessage({ id: request.id, bytes, spare }, spare ? [bytes.buffer, spare] : [bytes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String((error && error.message) || error) });
  }
});
`;

export type ParquetCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI' | 'LZ4_RAW' | 'ZSTD';

export type ParquetThreadRequest =
  | { kind: 'open'; file: number; codec: ParquetCodec; rowGroupRows: number; plainColumns: string[] }
  /** The batch is `length` bytes at the start of `ipc`, which the reply gives back (ipcBuffer). */
  | { kind: 'write'; file: number; ipc: ArrayBuffer; length: number }
  | { kind: 'finish'; file: number }
  | { kind: 'discard'; file: number };

/** Files opened on the thread and not yet finished or discarded: the thread holds their writers. */
let openFiles = 0;
/** After this long without a request and with no file open, the thread exits and its WebAssembly heap is freed. */
const IDLE_EXIT_MS = 10_000;
const thread = new ScriptThread('Parquet encoding', THREAD_SOURCE, {
  idleExitMs: IDLE_EXIT_MS,
  canExit: () => openFiles === 0,
  onSpare: (buffer) => spareBuffers.give(buffer),
  // Nothing to encode for a while: the spares go with the thread's memory.
  onIdleExit: () => spareBuffers.clear(),
});

/**
 * Buffers the thread gave back after copying a batch into WebAssembly, for the next batches' IPC bytes. An export
 * has two batches in flight (ENCODES_IN_FLIGHT): two spares serve it; concurrent exports allocate what they lack.
 */
const spareBuffers = new SpareBuffers(2);

/** A buffer of at least `size` bytes for a batch's IPC bytes: a spare one if one is large enough. */
export function ipcBuffer(size: number): Buffer {
  // A quarter more than asked: the next batches are about as large, and a little larger must fit too.
  return Buffer.from(spareBuffers.take(size, size * 1.25));
}
let nextFile = 0;

/** Sends one request to the Parquet thread; resolves to the file bytes it produced meanwhile (maybe none). */
export function requestParquetThread(request: ParquetThreadRequest): Promise<Buffer> {
  if (request.kind === 'open') openFiles++;
  if (request.kind === 'finish' || request.kind === 'discard') openFiles--;
  return thread.request(request, request.kind === 'write' ? [request.ipc] : []);
}

/** A number naming a new file on the thread. */
export function newParquetFileId(): number {
  return nextFile++;
}
