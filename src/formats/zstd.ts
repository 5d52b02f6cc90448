import { createRequire } from 'node:module';
import { ScriptThread } from './thread';

/**
 * zstd runs in WebAssembly (Node 20's zlib has no zstd, and native bindings would need a compiler at install time),
 * on a thread of its own, so the event loop reads the next rows meanwhile.
 */
const ZSTD_MODULE = createRequire(__filename).resolve('@bokuweb/zstd-wasm');

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zstd = require(${JSON.stringify(ZSTD_MODULE)});
const ready = zstd.init();
parentPort.on('message', async ({ id, chunk, level }) => {
  try {
    await ready;
    const bytes = zstd.compress(chunk, level);
    parentPort.postMessage({ id, bytes }, [bytes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

const thread = new ScriptThread('zstd compression', THREAD_SOURCE, { idleExitMs: 10_000 });

/** One zstd frame holding `chunk`. The thread handles one request at a time, so results come in call order. */
export function compressZstd(chunk: Buffer, level: number): Promise<Buffer> {
  return thread.request({ chunk, level });
}
