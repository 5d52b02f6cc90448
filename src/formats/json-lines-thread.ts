import { createRequire } from 'node:module';
import path from 'node:path';
import type { CopyBatch } from '../models/copy-stream';
import type { ModelField } from '../models/types';
import { SpareBuffers } from '../buffers';
import { ScriptThread } from './thread';

/**
 * JSON lines are written on a worker thread (JsonLinesWriter), so that the event loop reads and parses the next
 * rows meanwhile: on the event loop the writer took most of an export's main-thread CPU, and the main thread is what
 * an export waits on (docs/notes/issue-19-session-f.md). One thread serves every export of the process: it works a
 * batch in a few milliseconds, and the cores are the limit, not threads.
 */
const WRITER_MODULE = path.join(__dirname, `json-lines${path.extname(__filename)}`);

/** Run from TypeScript sources (tsx, vitest), the thread requires the writer's module through tsx's hook. */
const EXEC_ARGV = WRITER_MODULE.endsWith('.ts')
  ? ['--require', createRequire(__filename).resolve('tsx/cjs')]
  : undefined;

/** Spare line buffers on each side: one per batch in flight (ENCODES_IN_FLIGHT) and one more. */
const MAX_SPARES = 3;

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { JsonLinesWriter } = require(${JSON.stringify(WRITER_MODULE)});
// A writer per field list (an export's), as long as the thread lives: a few small objects each.
const writers = new Map();
// Buffers of lines the main thread has compressed, sent back for the next batches' lines (see giveBack).
const spares = [];
function allocate(size) {
  const index = spares.findIndex((buffer) => buffer.byteLength >= size);
  if (index >= 0) return Buffer.from(spares.splice(index, 1)[0]);
  return Buffer.allocUnsafeSlow(Math.ceil(size * 1.25));
}
parentPort.on('message', (request) => {
  if (request.linesSpare && spares.length < ${MAX_SPARES}) spares.push(request.linesSpare);
  try {
    let writer = writers.get(request.fieldsKey);
    if (!writer) {
      writer = new JsonLinesWriter(request.fields);
      writers.set(request.fieldsKey, writer);
    }
    const { input, starts, lengths, width, rows } = request;
    const bytes = writer.write({ data: Buffer.from(input), starts, lengths, width, rows }, allocate);
    // The input's buffer goes back for the next batch's bytes.
    parentPort.postMessage({ id: request.id, bytes, spare: input }, [bytes.buffer, input]);
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String((error && error.message) || error) });
  }
});
`;

const thread = new ScriptThread('JSON lines', THREAD_SOURCE, {
  idleExitMs: 10_000,
  execArgv: EXEC_ARGV,
  onSpare: (buffer) => inputs.give(buffer),
  // The thread's spares went with it.
  onIdleExit: () => {
    returned.length = 0;
    inputs.clear();
  },
});

/** Buffers the thread gave back after writing a batch's lines, for the next batches' bytes. */
const inputs = new SpareBuffers(MAX_SPARES);

/** Line buffers compressed already, to send back with the next request: the thread writes the next lines into them. */
const returned: ArrayBuffer[] = [];

/**
 * Gives back the buffer of lines the thread wrote, once nothing reads them any more: a fresh buffer per batch was
 * garbage that only full collections freed (docs/notes/issue-18-19-session-d.md).
 */
export function giveBackJsonLines(lines: Buffer): void {
  if (returned.length < MAX_SPARES && thread.running) returned.push(lines.buffer as ArrayBuffer);
}

/**
 * The JSON lines of a batch of rows of `fields` (see JsonLinesWriter), written on the thread. The batch's bytes are
 * copied into the request: the caller may release the batch once this returns.
 */
export function writeJsonLinesOnThread(
  fields: readonly ModelField[],
  fieldsKey: string,
  batch: CopyBatch,
): Promise<Buffer> {
  const { data, starts, lengths, width, rows } = batch;
  // The bytes the rows take: the batch's buffer may be larger (a leased one) and hold later rows.
  const last = rows * width - 1;
  let end = 0;
  for (let index = last; index >= 0 && end === 0; index--) {
    if (lengths[index]! >= 0) end = starts[index]! + lengths[index]!;
  }
  // Copied into a buffer handed over to the thread (a copy; a clone of the batch's leased buffer cost more).
  const input = inputs.take(end, end * 1.25);
  data.copy(new Uint8Array(input), 0, 0, end);
  const linesSpare = returned.pop();
  return thread.request(
    {
      input,
      linesSpare,
      fieldsKey,
      fields,
      starts: starts.subarray(0, rows * width),
      lengths: lengths.subarray(0, rows * width),
      width,
      rows,
    },
    linesSpare ? [input, linesSpare] : [input],
  );
}
