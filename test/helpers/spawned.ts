import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface SpawnedProcess {
  /** The process itself: signals reach it, not a wrapper. */
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves once the output contains `text` (or the process ended, or a minute passed); returns the output. */
  waitFor(text: string): Promise<string>;
}

/**
 * A node process of this checkout (`args`, e.g. `['--import', 'tsx', 'worker.ts']`) with exactly `env` and PATH.
 * tsx runs as a loader of that process, not as its CLI: the CLI runs the script in a child process, which a signal
 * to the CLI would leave running.
 */
export function spawnNode(args: string[], env: Record<string, string>): SpawnedProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async waitFor(text) {
      for (let i = 0; i < 600 && !output.includes(text); i++) {
        if (child.exitCode !== null || child.signalCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return output;
    },
  };
}
