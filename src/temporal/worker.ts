import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { WORKFLOWS_PATH } from './workflows-path';

/**
 * A worker that runs every export workflow and the activities it is given: the entry point (worker.ts, the dev
 * server, the test stack) builds them with createActivities, so this layer never reaches up into activities/.
 * Production passes a prebuilt bundle (npm run build); without one the workflows are bundled from source at start-up.
 */
export async function createWorker(options: {
  connection: NativeConnection;
  config: Pick<Config, 'temporal' | 'worker'>;
  activities: object;
  workflowBundlePath?: string;
  overrides?: Partial<WorkerOptions>;
}): Promise<Worker> {
  const bundlePath = options.workflowBundlePath ?? options.config.temporal.workflowBundlePath;
  return Worker.create({
    connection: options.connection,
    namespace: options.config.temporal.namespace,
    taskQueue: options.config.temporal.taskQueue,
    activities: options.activities,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    // Bounded so that the worker stays within its memory budget (config.ts, WORKER_MEMORY_BUDGET_MB).
    maxConcurrentActivityTaskExecutions: options.config.worker.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: options.config.worker.maxConcurrentLocalActivities,
    maxConcurrentWorkflowTaskExecutions: options.config.worker.maxConcurrentWorkflowTasks,
    // Temporal's rate limit for the whole task queue: with a dedicated queue (DEDICATED_TASK_QUEUES), how many loads
    // per second its destination gets, however many workers serve it.
    ...(options.config.worker.maxTaskQueueActivitiesPerSecond
      ? { maxTaskQueueActivitiesPerSecond: options.config.worker.maxTaskQueueActivitiesPerSecond }
      : {}),
    // Heartbeats are throttled by the SDK; in-flight activities get this long to heartbeat and finish on shutdown.
    shutdownGraceTime: '30 seconds',
    ...options.overrides,
  });
}
