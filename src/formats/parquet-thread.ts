import { createRequire } from 'node:module';
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
const files = new Map();
// A batch's IPC bytes arrive as a transferred ArrayBuffer of several MB, freed only when this thread's isolate
// collects it. Its JS heap is tiny, so V8 collected rarely, and 40-60 MB of spent batches stayed allocated (counted
// in the worker's RSS). A full collection after each batch is copied into WebAssembly frees them at once; on this
// heap (~10 MB) it costs little. gc is taken from a new context with the flag on just for that, then turned off
// again: the flag is process-wide, and contexts made later (Temporal's workflow sandboxes) must not see a gc global.
const v8 = require('node:v8');
v8.setFlagsFromString('--expose-gc');
const collect = require('node:vm').runInNewContext('gc');
v8.setFlagsFromString('--no-expose-gc');

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
  const table = parquet.Table.fromIPCStream(new Uint8Array(request.ipc));
  // Dropped before collecting, or the request would keep the bytes alive (a minor collection was not enough).
  request.ipc = undefined;
  collect();
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
    parentPort.postMessage({ id: request.id, bytes }, [bytes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String((error && error.message) || error) });
  }
});
`;

export type ParquetCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI' | 'LZ4_RAW' | 'ZSTD';

export type ParquetThreadRequest =
  | { kind: 'open'; file: number; codec: ParquetCodec; rowGroupRows: number; plainColumns: string[] }
  | { kind: 'write'; file: number; ipc: ArrayBuffer }
  | { kind: 'finish'; file: number }
  | { kind: 'discard'; file: number };

/** Files opened on the thread and not yet finished or discarded: the thread holds their writers. */
let openFiles = 0;
/** After this long without a request and with no file open, the thread exits and its WebAssembly heap is freed. */
const IDLE_EXIT_MS = 10_000;
const thread = new ScriptThread('Parquet encoding', THREAD_SOURCE, {
  idleExitMs: IDLE_EXIT_MS,
  canExit: () => openFiles === 0,
});
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
