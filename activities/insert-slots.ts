/**
 * The loads one worker process puts on destinations at once: the insert activity and the local inserts of small
 * intervals share `WORKER_MAX_CONCURRENT_ACTIVITIES` slots. Temporal counts only the activity's in its own slots, so
 * without this a worker running local inserts beside its activities would load a destination (a dedicated queue's,
 * say) more than its setting allows, and hold more rows in memory than its budget.
 */
export class InsertSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  /** A slot now, or null when all are taken: a local insert then leaves the interval to the insert activity. */
  tryTake(): (() => void) | null {
    if (this.used >= this.size) return null;
    this.used++;
    return this.releaser();
  }

  /** A slot, once one is free (first come, first served); rejects when `signal` aborts first. */
  async take(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const now = this.tryTake();
    if (now) return now;
    return new Promise((resolve, reject) => {
      const handOver = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.releaser());
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(handOver), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(handOver);
    });
  }

  /** Releases once, however often it is called: a freed slot goes to the oldest waiter, else back to the pool. */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
}
