import { expect } from 'vitest';
import { finishedRun, intervalInput } from './s3-exports';
import type { TestStack } from './stack';
import { lastHeartbeat, spawnWorkerProcess, type WorkerProcess } from './worker-process';

/**
 * Runs the hour ending at `dataIntervalEnd` of an export on a worker process and SIGKILLs that process once the
 * server holds a heartbeat `ready` accepts; then starts a new worker (in this process) and waits for the workflow to
 * end. `onSpawn` gets the killed process (for the test's clean-up if it fails midway).
 */
export async function startAndKill<P>(
  stack: TestStack,
  options: {
    batchExportId: string;
    teamId: number;
    dataIntervalEnd: string;
    ready: (progress: P | null) => boolean;
    maximumAttempts?: number;
    workflowType?: string;
    onSpawn?: (worker: WorkerProcess) => void;
  },
) {
  const first = spawnWorkerProcess(stack);
  options.onSpawn?.(first);
  const workflowId = `${options.batchExportId}-resume`;
  const handle = await stack.temporal.workflow.start(options.workflowType ?? 'batch-export', {
    taskQueue: stack.config.temporal.taskQueue,
    workflowId,
    // A dead worker is noticed after 3 s without a heartbeat; heartbeats reach the server every ~2.4 s.
    args: [
      intervalInput(options.batchExportId, options.teamId, options.dataIntervalEnd, {
        heartbeatTimeoutSeconds: 3,
        initialIntervalSeconds: 1,
        maximumAttempts: options.maximumAttempts ?? 5,
      }),
    ],
  });
  let heartbeated: P | null = null;
  for (let i = 0; i < 1200 && !options.ready(heartbeated); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    heartbeated = await lastHeartbeat<P>(handle);
  }
  expect(options.ready(heartbeated)).toBe(true);
  first.child.kill('SIGKILL');
  await first.exited;
  const second = await stack.startWorker();
  const outcome = await handle.result().then(
    (result) => ({ result, error: null }),
    (error: unknown) => ({ result: null, error }),
  );
  await second.stop();
  return { ...outcome, heartbeated, run: await finishedRun(stack, options.batchExportId, workflowId) };
}
