import { spawnSync } from 'node:child_process';
import { inject } from 'vitest';
import { spawnNode, type SpawnedProcess } from './spawned';
import type { TestStack } from './stack';

/** The worker's own process: signals reach the worker itself. */
export type WorkerProcess = SpawnedProcess;

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
  return spawnNode(script ? [script] : ['--import', 'tsx', 'worker.ts'], defined as Record<string, string>);
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

/**
 * SIGKILLs a process and its children, like a machine dying: tsx runs worker.ts in a child node process, which a
 * SIGKILL of tsx alone would leave running.
 */
export function killWithChildren(pid: number): void {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line.trim().length > 0)
    .map(Number);
  for (const child of children) process.kill(child, 'SIGKILL');
  process.kill(pid, 'SIGKILL');
}
