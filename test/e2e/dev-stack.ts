import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/dev/ports';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * A copy of this checkout, as a fresh clone has it (tracked and new files, no .data/ or build output), sharing
 * node_modules through a link so that no install runs. `npm run dev` keeps its state in the copy's .data/.
 */
export async function copyCheckout(): Promise<{ directory: string; remove(): Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'batch-exports-checkout-'));
  const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: ROOT,
    maxBuffer: 1 << 26,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(path.dirname(path.join(directory, file)), { recursive: true });
    await copyFile(path.join(ROOT, file), path.join(directory, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted but not yet committed
    });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(directory, 'node_modules'));
  return { directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

export interface DevPorts {
  temporal: number;
  temporalUi: number;
  api: number;
  s3: number;
  workerMetrics: number;
  sdkMetrics: number;
}

export async function freeDevPorts(): Promise<DevPorts> {
  return {
    temporal: await freePort(),
    temporalUi: await freePort(),
    api: await freePort(),
    s3: await freePort(),
    workerMetrics: await freePort(),
    sdkMetrics: await freePort(),
  };
}

/** The environment `npm run dev` gets: this machine's, without what the test run sets, on the given ports. */
export function devEnv(ports: DevPorts, databaseUrl: string, sourceDatabaseUrl?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'ENCRYPTION_KEY',
    'DESTINATION_ALLOWED_NETWORKS',
    'LOG_LEVEL',
    'SOURCE_DATABASE_URL',
    'TASK_QUEUE',
  ]) {
    delete env[name];
  }
  return {
    ...env,
    DATABASE_URL: databaseUrl,
    ...(sourceDatabaseUrl ? { SOURCE_DATABASE_URL: sourceDatabaseUrl } : {}),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.temporalUi),
    API_PORT: String(ports.api),
    DEV_S3_PORT: String(ports.s3),
    WORKER_METRICS_PORT: String(ports.workerMetrics),
    TEMPORAL_SDK_METRICS_PORT: String(ports.sdkMetrics),
  };
}

export interface DevProcess {
  /** npm's pid, which is also the id of the process group. */
  pid: number;
  output(): string;
  /** Resolves when `text` has been printed; rejects if the process exits first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /**
   * Ctrl-C as a terminal sends it: SIGINT to every process of the group. Resolves with how npm ended: it re-raises
   * the SIGINT it got once its script has exited, as a shell expects of a job stopped by Ctrl-C.
   */
  interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/** Whether any process of the group `pid` is left, after up to `graceMs` for the last ones to exit. */
export async function groupAlive(pid: number, graceMs = 5000): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    try {
      process.kill(-pid, 0);
    } catch {
      return false;
    }
    if (Date.now() > deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `npm run dev` in `directory`, in a process group of its own (as a terminal's foreground job). */
export function startDev(directory: string, env: NodeJS.ProcessEnv, args: string[] = []): DevProcess {
  const child: ChildProcess = spawn('npm', ['run', 'dev', ...(args.length ? ['--', ...args] : [])], {
    cwd: directory,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (data: Buffer) => {
    output += data.toString();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    pid: child.pid!,
    output: () => output,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`npm run dev exited (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`"${text}" not printed within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async interrupt() {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // nothing of the group is left
      }
    },
  };
}
