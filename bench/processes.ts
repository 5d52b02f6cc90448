import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DIST } from '../src/dev/build';

const ROOT = path.resolve(__dirname, '..');

/**
 * The real worker as a process of its own, so that its memory is measured alone: the compiled one production runs
 * (dist/worker.js, see `npm run build`), or worker.ts through tsx with BENCH_WORKER=tsx. BENCH_WORKER_NODE_ARGS adds
 * Node flags NODE_OPTIONS does not take, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
export async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const flags = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = process.env.BENCH_WORKER === 'tsx' ? ['--import', 'tsx', 'worker.ts'] : [DIST.worker];
  const child = spawn(process.execPath, [...flags, ...entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  for (let i = 0; i < 600 && !output.includes('Worker started'); i++) {
    if (child.exitCode !== null) throw new Error(`The worker exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}

/** Linux: forgets the process's peak RSS so far, so the next reading is the peak of what follows. */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Linux: the process's peak resident set size (VmHWM) in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** Runs a shell pipeline; resolves with its wall time in seconds. */
export function timeShell(command: string, env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command}: ${stderr}`)),
    );
  });
}
