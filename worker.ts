import { existsSync } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { loadConfig } from './src/config';
import { createPool } from './src/db/pool';
import { createLogger } from './src/logger';
import { sdkTelemetry, startWorkerMetrics } from './src/metrics/worker-endpoints';
import { startWorkerFreshnessWatch } from './src/notifications/freshness-watch';
import { connectWorker } from './src/temporal/connection';
import { createWorker } from './src/temporal/worker';

/**
 * The worker process: polls the task queue for export workflows and activities. SIGTERM / SIGINT stop polling,
 * let in-flight activities finish or heartbeat within the grace time, then close the pools.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel).child({ component: 'worker' });
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'], ...sdkTelemetry(config) });
  const metrics = await startWorkerMetrics(config);
  const pool = createPool(config.databaseUrl, { applicationName: 'batch-exports-worker' });
  const sourcePool =
    config.sourceDatabaseUrl === config.databaseUrl
      ? pool
      : createPool(config.sourceDatabaseUrl, { applicationName: 'batch-exports-worker-source' });
  const connection = await connectWorker(config.temporal);
  try {
    // The compiled worker (npm run build) finds the workflow bundle built beside it.
    const beside = path.join(__dirname, 'workflow-bundle.js');
    const workflowBundlePath = config.temporal.workflowBundlePath ?? (existsSync(beside) ? beside : undefined);
    const dependencies = { pool, sourcePool, config };
    const worker = await createWorker({ connection, config, dependencies, workflowBundlePath });
    const freshnessWatch = await startWorkerFreshnessWatch(pool, config, logger);
    logger.info(
      {
        address: config.temporal.address,
        namespace: config.temporal.namespace,
        task_queue: config.temporal.taskQueue,
        metrics_port: metrics?.port ?? null,
        temporal_sdk_metrics_port: config.metrics.temporalSdkPort,
      },
      'Worker started',
    );
    await worker.run();
    await freshnessWatch.stop();
    logger.info('Worker stopped');
  } finally {
    await metrics?.close();
    await connection.close();
    if (sourcePool !== pool) await sourcePool.end();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
