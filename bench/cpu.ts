import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Pool } from 'pg';

/** Linux clock ticks per second (USER_HZ): /proc reports CPU times in them. */
const TICKS = 100;

/** CPU seconds one export cost, by where they were spent. */
export interface StageCpu {
  /** The worker's main thread: reading COPY rows, JSON lines / Arrow columns, the S3 or Postgres client. */
  workerMain: number;
  /** The worker's other threads: compression (libuv's pool), Parquet encoding, the garbage collector, Temporal. */
  workerThreads: number;
  /**
   * Backends of the bench's databases (the source COPY and its parallel workers, the metadata queries, the Postgres
   * destination's database).
   */
  postgres: number;
  /**
   * The best wall time these allow on this machine: all the CPU spread over every core, or the busiest single
   * thread (the worker's main thread cannot be split), whichever is longer.
   */
  limitSeconds: number;
}

/** user + system ticks of /proc/<path>/stat, or null when the process or thread is gone. */
function ticks(path: string): number | null {
  try {
    const stat = readFileSync(`/proc/${path}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Starts measuring the CPU the worker process and the bench database's backends spend until `stop`. Backends are
 * found in pg_stat_activity every 200 ms (parallel workers live for one query) and read from /proc: Postgres runs
 * on this machine. A backend that ends between two samples loses its last 200 ms.
 */
export function startCpuMeter(workerPid: number, pool: Pool): { stop(): Promise<StageCpu> } {
  const workerStart = { total: ticks(String(workerPid)) ?? 0, main: ticks(`${workerPid}/task/${workerPid}`) ?? 0 };
  const backends = new ProcessTicks();
  let stopped = false;
  let sampling = false;
  const sample = async () => {
    const { rows } = await pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname LIKE current_database() || '%' AND pid <> pg_backend_pid()
       AND backend_type IN ('client backend', 'parallel worker')`,
    );
    for (const { pid } of rows) {
      const now = ticks(String(pid));
      // A backend first seen now started during the export (a parallel worker) unless it was seen at the start.
      if (now !== null) backends.record(pid, now, !sampling);
    }
  };
  const loop = (async () => {
    await sample();
    sampling = true;
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sample();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const workerMain = ((ticks(`${workerPid}/task/${workerPid}`) ?? 0) - workerStart.main) / TICKS;
      const workerTotal = ((ticks(String(workerPid)) ?? 0) - workerStart.total) / TICKS;
      const postgres = backends.seconds();
      const total = workerTotal + postgres;
      return {
        workerMain: round(workerMain),
        workerThreads: round(workerTotal - workerMain),
        postgres: round(postgres),
        limitSeconds: round(Math.max(total / os.availableParallelism(), workerMain)),
      };
    },
  };
}

function round(value: number): number {
  return Number(value.toFixed(2));
}

/**
 * The CPU ticks of processes sampled between a meter's start and stop, by pid: a process first seen after the start
 * started after it, and counts from zero.
 */
class ProcessTicks {
  private readonly spans = new Map<number, { first: number; last: number }>();

  has(pid: number): boolean {
    return this.spans.has(pid);
  }

  record(pid: number, now: number, atStart: boolean): void {
    const span = this.spans.get(pid);
    if (span) span.last = now;
    else this.spans.set(pid, { first: atStart ? now : 0, last: now });
  }

  /** CPU seconds of the processes `include` accepts (all by default). */
  seconds(include: (pid: number) => boolean = () => true): number {
    let total = 0;
    for (const [pid, { first, last }] of this.spans) if (include(pid)) total += (last - first) / TICKS;
    return total;
  }
}

/** Kinds of process the whole-machine meter tells apart, by pid or command line. */
export type ProcessKind = 'worker' | 'temporal' | 's3' | 'postgres' | 'bench' | 'other';

/** The command line of a process, or null when it is gone (a kernel thread has an empty one). */
function commandLine(pid: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return null;
  }
}

function kindOf(pid: number, command: string, workerPid: number): ProcessKind {
  if (pid === workerPid) return 'worker';
  if (pid === process.pid) return 'bench';
  if (command.startsWith('postgres')) return 'postgres';
  if (/\btemporal\b.*\bserver\b/.test(command)) return 'temporal';
  if (command.includes('moto_server')) return 's3';
  return 'other';
}

/**
 * Starts measuring the CPU every process on this machine spends until `stop`, summed by kind: the worker, the
 * Temporal dev server, moto, Postgres (every backend), this bench process, and the rest. Processes are read from
 * /proc every 500 ms; one that starts and ends between two samples is missed, one that ends loses its last 500 ms.
 */
export function startMachineCpuMeter(workerPid: number): { stop(): Record<ProcessKind, number> } {
  const processes = new ProcessTicks();
  const kinds = new Map<number, ProcessKind>();
  const sample = (atStart: boolean) => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const now = ticks(entry);
      if (now === null) continue;
      if (!processes.has(pid)) {
        const command = commandLine(entry);
        if (command === null || command === '') continue;
        kinds.set(pid, kindOf(pid, command, workerPid));
      }
      processes.record(pid, now, atStart);
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), 500);
  return {
    stop() {
      clearInterval(timer);
      sample(false);
      const kindNames: ProcessKind[] = ['worker', 'temporal', 's3', 'postgres', 'bench', 'other'];
      return Object.fromEntries(
        kindNames.map((kind) => [kind, processes.seconds((pid) => kinds.get(pid) === kind)]),
      ) as Record<ProcessKind, number>;
    },
  };
}
