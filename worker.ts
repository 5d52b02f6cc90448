import { existsSync } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { loadConfig } from './src/config';
import { createPool } from './src/db/pool';
import { errorMessage } from './src/errors';
import { createLogger } from './src/logger';
import { sdkTelemetry, startWorkerMetrics } from './src/metrics/worker-endpoints';
import { startWorkerFreshnessWatch } from './src/notifications/freshness-watch';
import { startReconciler } from './src/service/reconciler';
import { connectClient, connectWorker } from './src/temporal/connection';
import { createWorker } from './src/temporal/worker';
import { createActivities } from './activities';

/** Connections for bookkeeping: recording runs, log lines, the reconciler. */
const METADATA_CONNECTIONS = 10;

/**
 * The worker process: polls the task queue for export workflows and activities. SIGTERM / SIGINT stop polling,
 * let in-flight activities finish or heartbeat within the grace time, then close the pools. Beside the worker, the
 * reconciler gives runs and backfills whose workflow closed without a word (terminated, timed out) that status.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel).child({ component: 'worker' });
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'], ...sdkTelemetry(config) });
  const metrics = await startWorkerMetrics(config);
  // The attempt using a lost connection fails (and is retried) by itself; the log says why.
  const onConnectionError = (error: Error) => logger.warn({ error: error.message }, 'Lost a Postgres connection');
  // Each running export holds a source connection for its COPY (two while it reads the next slice ahead:
  // SOURCE_SLICE_READ_AHEAD) and still writes to the metadata database (log lines, progress): the pools are sized so
  // that a full worker never waits on itself.
  const exports = config.worker.maxConcurrentActivities;
  const sourceConnections = exports * (config.source.sliceReadAhead ? 2 : 1);
  const shared = config.sourceDatabaseUrl === config.databaseUrl;
  const pool = createPool(config.databaseUrl, {
    max: METADATA_CONNECTIONS + (shared ? sourceConnections : 0),
    applicationName: 'batch-exports-worker',
    onConnectionError,
  });
  const sourcePool = shared
    ? pool
    : createPool(config.sourceDatabaseUrl, {
        max: sourceConnections,
        applicationName: 'batch-exports-worker-source',
        onConnectionError,
      });
  const connection = await connectWorker(config.temporal);
  const temporal = await connectClient(config.temporal);
  let stopReconciler: (() => Promise<void>) | undefined;
  let freshnessWatch: { stop(): Promise<void> } | undefined;
  try {
    // The compiled worker (npm run build) finds the workflow bundle built beside it.
    const beside = path.join(__dirname, 'workflow-bundle.js');
    const workflowBundlePath = config.temporal.workflowBundlePath ?? (existsSync(beside) ? beside : undefined);
    const activities = createActivities({ pool, sourcePool, config });
    const worker = await createWorker({ connection, config, activities, workflowBundlePath });
    freshnessWatch = startWorkerFreshnessWatch({ pool, temporal }, config, logger);
    logger.info(
      {
        address: config.temporal.address,
        namespace: config.temporal.namespace,
        task_queue: config.temporal.taskQueue,
        ...config.worker,
        metrics_port: metrics?.port ?? null,
        temporal_sdk_metrics_port: config.metrics.temporalSdkPort,
      },
      'Worker started',
    );
    stopReconciler = startReconciler(
      { pool, temporal, config, logger },
      {
        intervalMs: config.reconcileIntervalMs,
        onError: (error) => logger.warn({ error: errorMessage(error) }, 'Reconciling closed workflows failed'),
      },
    );
    await worker.run();
    logger.info('Worker stopped');
  } finally {
    await freshnessWatch?.stop();
    await stopReconciler?.();
    await temporal.connection.close();
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
