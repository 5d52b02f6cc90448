import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ApiProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  /** Resolves once the API says it listens (or the process ended); returns the output so far. */
  listening(): Promise<string>;
}

/** `npm run api` (scripts/api.ts) as a process of its own, with exactly `env` (and PATH). */
export function spawnApiProcess(env: Record<string, string>): ApiProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/api.ts'], {
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
    async listening() {
      for (let i = 0; i < 600 && !output.includes('API listening') && child.exitCode === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return output;
    },
  };
}
