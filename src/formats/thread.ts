import { Worker } from 'node:worker_threads';

interface Reply {
  id: number;
  bytes?: Uint8Array;
  /** A buffer the request transferred, given back for the next request to use (see `onSpare`). */
  spare?: ArrayBuffer;
  error?: string;
}

/**
 * A worker thread running a script of plain JavaScript (evaluated, so it runs unchanged under tsx, vitest and a
 * compiled build), answering requests `{ id, ...}` with `{ id, bytes }` or `{ id, error }`. WebAssembly codecs run
 * there: they are synchronous, and on the main thread they would stop the reading of the next rows. The thread
 * starts on first use, restarts after a crash, and does not keep an idle process alive.
 *
 * A WebAssembly heap only ever grows, so a thread that once encoded a large batch would hold that memory for the
 * life of the process: with `idleExitMs`, the thread exits after that long without requests (and when `canExit`
 * says it holds no state), giving its heap back; the next request starts a new one.
 */
export class ScriptThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (bytes: Buffer) => void; reject: (error: Error) => void }>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly name: string,
    private readonly source: string,
    private readonly options: {
      idleExitMs?: number;
      canExit?: () => boolean;
      /** Takes a buffer a reply gave back (`spare`), to use again. */
      onSpare?: (buffer: ArrayBuffer) => void;
      /** Called when the thread exits for being idle (`idleExitMs`). */
      onIdleExit?: () => void;
      /** Node options of the thread (e.g. a loader for the TypeScript modules its script requires). */
      execArgv?: string[];
    } = {},
  ) {}

  /** Whether the thread is running (it starts on the first request). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Buffer> {
    const worker = this.start();
    const id = this.nextId++;
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.source, { eval: true, name: this.name, execArgv: this.options.execArgv });
    worker.on('message', (reply: Reply) => {
      if (reply.spare) this.options.onSpare?.(reply.spare);
      const request = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) {
        worker.unref();
        this.exitWhenIdle(worker);
      }
      if (reply.bytes) request?.resolve(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.length));
      else request?.reject(new Error(`${this.name} failed: ${reply.error}`));
    });
    // A thread told to exit when idle is no longer this.worker, and had no request waiting.
    worker.on('error', (error) => this.worker === worker && this.failAll(error));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.failAll(new Error(`The ${this.name} thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private exitWhenIdle(worker: Worker): void {
    const { idleExitMs, canExit } = this.options;
    if (idleExitMs === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.worker !== worker || this.waiting.size > 0 || !(canExit?.() ?? true)) return;
      this.worker = undefined;
      void worker.terminate();
      this.options.onIdleExit?.();
    }, idleExitMs);
    this.idleTimer.unref();
  }

  private failAll(error: Error): void {
    this.worker = undefined;
    for (const request of this.waiting.values()) request.reject(error);
    this.waiting.clear();
  }
}
