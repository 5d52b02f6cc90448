import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import type { TestStack } from './stack';

const ROOT = path.resolve(__dirname, '../..');

export interface WorkerProcess {
  /** The worker's own process: signals reach the worker itself. */
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves once the output contains `text` (or the process ended); returns the output so far. */
  waitFor(text: string): Promise<string>;
  output(): string;
}

/** The stack's worker settings, as the environment of a worker process. */
export function workerEnv(stack: TestStack): Record<string, string> {
  return {
    DATABASE_URL: stack.db.url,
    TEMPORAL_ADDRESS: stack.config.temporal.address,
    TASK_QUEUE: stack.config.temporal.taskQueue,
    ENCRYPTION_KEY: stack.config.encryptionKey.toString('base64'),
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    S3_PART_SIZE_MB: String(stack.config.s3.partSizeBytes / 1024 / 1024),
    SOURCE_BATCH_SIZE: String(stack.config.source.batchSize),
    DESTINATION_ALLOWED_NETWORKS: stack.config.destinationAccess.allowedNetworks.join(','),
  };
}

/**
 * The real worker (worker.ts) as a separate process, serving the stack's task queue and database with the prebuilt
 * workflow bundle: a test can SIGKILL it like a crashed machine, which an in-process worker cannot simulate.
 * `env` replaces the stack's settings (a key set to undefined is left out); `script` runs another entry point, e.g.
 * a compiled dist/worker.js.
 */
export function spawnWorkerProcess(
  stack: TestStack | null,
  env: Record<string, string | undefined> = {},
  script?: string,
): WorkerProcess {
  const merged: Record<string, string | undefined> = { ...(stack ? workerEnv(stack) : {}), ...env };
  const defined = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  // tsx as a loader of this node process, not its CLI: the CLI runs the script in a child process, which a kill of
  // the CLI would leave running.
  const child = spawn(process.execPath, script ? [script] : ['--import', 'tsx', 'worker.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...(defined as Record<string, string>) },
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

interface DescribableWorkflow {
  describe(): Promise<{
    raw: {
      pendingActivities?: Array<{
        heartbeatDetails?: { payloads?: Array<{ data?: Uint8Array | null }> | null } | null;
      }> | null;
    };
  }>;
}

/** The details of the last heartbeat the server holds for the workflow's running activity; null when none. */
export async function lastHeartbeat<T>(handle: DescribableWorkflow): Promise<T | null> {
  const description = await handle.describe();
  const data = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
  return data?.length ? (JSON.parse(Buffer.from(data).toString('utf8')) as T) : null;
}
