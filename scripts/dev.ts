import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { buildServer } from '../src/api/server';
import { ApiClient } from '../src/cli/api-client';
import { loadConfig } from '../src/config';
import { ensureDatabase } from '../src/db/ensure-database';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { ensureConsoleBuilt } from '../src/dev/build';
import { DEMO_BUCKET, startDemo, type Demo } from '../src/dev/demo';
import { DATA_DIR, ensureDevAccess } from '../src/dev/dev-access';
import { loadDevSettings } from '../src/dev/dev-settings';
import { startDevTemporal } from '../src/dev/dev-temporal';
import { waitForPort } from '../src/dev/ports';
import { createLogger } from '../src/logger';
import { DEV_METRICS_PORTS, sdkTelemetry, startWorkerMetrics } from '../src/metrics/worker-endpoints';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createWorker } from '../src/temporal/worker';
import { createActivities } from '../activities';
import { startReconciler } from '../src/service/reconciler';
import { errorMessage } from '../src/errors';
import { detectSearchAttributes } from '../src/temporal-ui/search-attributes';
import { startWorkerFreshnessWatch } from '../src/notifications/freshness-watch';

/**
 * The whole system on one machine, on embedded defaults: a Temporal dev server with its Web UI (started on
 * TEMPORAL_ADDRESS when nothing answers there), the metadata database created and migrated, a worker, the HTTP API,
 * and a live demo (src/dev/demo.ts) unless `--no-demo` or DEV_DEMO=false. Ctrl-C stops everything.
 */
const DEV_ALLOWED_NETWORKS = '127.0.0.0/8,::1/128';
/** Set by the first SIGINT or SIGTERM: start-up steps failing after it (the pool ended under them) are expected. */
let stopping = false;

async function main(): Promise<void> {
  const settings = loadDevSettings(process.env, process.argv.slice(2));
  await mkdir(DATA_DIR, { recursive: true });
  process.env.ENCRYPTION_KEY ??= await devEncryptionKey();
  // A local setup exports to local databases and S3: loopback is allowed here, and only here, by default.
  process.env.DESTINATION_ALLOWED_NETWORKS ??= DEV_ALLOWED_NETWORKS;
  // Every API request logged at info would bury the banner; LOG_LEVEL=info shows them.
  process.env.LOG_LEVEL ??= 'warn';
  const config = loadConfig({ ...DEV_METRICS_PORTS, ...process.env });
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [], ...sdkTelemetry(config) });
  // From here on Ctrl-C stops what has started so far, also half-way through starting.
  const stops = stopOnSignals();
  // The web console the API serves at /ui/, built when missing or older than its sources (console/), while Temporal
  // and the database start. A failed build leaves the rest running: /ui/ then says how to build it.
  const consoleBuilt = ensureConsoleBuilt().then(
    (built) => built && console.log('Built the web console (dist/console)'),
    (error: unknown) => console.warn(`The web console was not built: ${errorMessage(error)}`),
  );
  const metrics = await startWorkerMetrics(config);
  if (metrics) stops.push(['worker metrics', () => metrics.close()]);

  const [host, port] = config.temporal.address.split(':') as [string, string];
  let temporalStarted = false;
  if (!(await isListening(Number(port), host))) {
    console.log(`Starting a Temporal dev server on ${config.temporal.address} ...`);
    const temporal = await startDevTemporal({
      port: Number(port),
      uiPort: settings.temporalUiPort,
      dbFilename: path.join(DATA_DIR, 'temporal.db'),
    });
    stops.push(['Temporal dev server', () => temporal.stop()]);
    temporalStarted = true;
    // The web console links each run to its workflow in the Web UI this dev server serves.
    config.api.temporalUiUrl ??= `http://127.0.0.1:${settings.temporalUiPort}`;
  }

  await ensureDatabase(config.databaseUrl);
  // The worker's exports read through it too: a connection per activity slot beside the API's.
  const pool = createPool(config.databaseUrl, {
    max: 10 + config.worker.maxConcurrentActivities,
    applicationName: 'batch-exports-dev',
  });
  const sourcePool =
    config.sourceDatabaseUrl === config.databaseUrl
      ? pool
      : createPool(config.sourceDatabaseUrl, {
          max: 10 + config.worker.maxConcurrentActivities,
          applicationName: 'batch-exports-dev-source',
        });
  stops.push(['database pools', () => Promise.all([pool.end(), sourcePool === pool ? undefined : sourcePool.end()])]);
  const applied = await migrate(pool);
  console.log(applied.length ? `Applied migrations ${applied.join(', ')}` : 'Database is up to date');

  const connection = await connectWorker(config.temporal);
  stops.push(['worker connection', () => connection.close()]);
  const activities = createActivities({ pool, sourcePool, config });
  const worker = await createWorker({ connection, config, activities });
  const running = worker.run();
  stops.push([
    'worker',
    async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      console.log('Worker stopped');
    },
  ]);
  const temporalClient = await connectClient(config.temporal);
  stops.push(['Temporal client', () => temporalClient.connection.close()]);
  await detectSearchAttributes(temporalClient.connection, config.temporal.namespace, console.warn);
  const logger = createLogger(config.logLevel).child({ component: 'api' });
  const stopReconciler = startReconciler(
    { pool, temporal: temporalClient, config },
    {
      intervalMs: config.reconcileIntervalMs,
      onError: (error) => logger.warn({ error: errorMessage(error) }, 'Reconciling closed workflows failed'),
    },
  );
  stops.push(['reconciler', () => stopReconciler()]);
  // Lateness alerts (notifications), as every worker process runs them.
  const freshnessWatch = startWorkerFreshnessWatch({ pool, temporal: temporalClient }, config, logger);
  stops.push(['freshness watch', () => freshnessWatch.stop()]);
  await consoleBuilt;
  const api = await buildServer({ deps: { pool, temporal: temporalClient, config, logger }, logger });
  stops.push(['API', () => api.close()]);
  await api.listen({ host: config.api.host, port: config.api.port });
  const apiUrl = `http://${reachableHost(config.api.host)}:${(api.server.address() as AddressInfo).port}`;
  const access = await ensureDevAccess(pool, apiUrl);

  const demo = settings.demo
    ? await startDemo({
        api: new ApiClient({ baseUrl: apiUrl, key: access.key, projectId: access.projectId }),
        sourcePool,
        teamId: access.projectId,
        s3Port: settings.s3Port,
      })
    : undefined;
  if (demo) {
    stops.push(['demo traffic', () => demo.stopTraffic()]);
    // First in the list, so stopped last: the worker's in-flight uploads still reach it.
    stops.unshift(['local S3', () => demo.stopS3()]);
  }

  const uiUrl = `http://127.0.0.1:${settings.temporalUiPort}/namespaces/${config.temporal.namespace}/workflows`;
  console.log(`
Batch exports is running.
  Temporal Web UI: ${temporalStarted ? uiUrl : '(your own Temporal server)'}
  Temporal:        ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})
  API:             ${apiUrl}/api/ (docs at ${apiUrl}/api/docs)
  Web console:     ${apiUrl}/ui/ (sign in with the API key below)
  Metrics:         ${apiUrl}/metrics, worker :${metrics?.port ?? '-'}/metrics, Temporal SDK :${config.metrics.temporalSdkPort ?? '-'}/metrics
  Database:        ${redactPassword(config.databaseUrl)}${sourcePool === pool ? '' : `\n  Source data:     ${redactPassword(config.sourceDatabaseUrl)}`}
  Destinations:    public addresses${config.destinationAccess.allowedNetworks.length ? ` and ${config.destinationAccess.allowedNetworks.join(', ')}` : ''} (DESTINATION_ALLOWED_NETWORKS)
  Project:         ${access.projectId}

Your API key (also in .data/dev-api-key):
  export KEY=${access.key}
  curl -H "Authorization: Bearer $KEY" ${apiUrl}/api/projects/${access.projectId}/batch_exports
${demo ? demoBanner(demo) : '\nNo demo (--no-demo): load your own events, persons and sessions (see the README).'}
Press Ctrl-C to stop.`);
  await running;
}

/**
 * What has started, to stop in reverse order on SIGINT or SIGTERM. Ctrl-C reaches every process of the terminal's
 * group, and npm and tsx relay it again: a second signal while stopping must not kill the process before the worker
 * has stopped. Each step runs even when one before it failed.
 */
function stopOnSignals(): [string, () => Promise<unknown>][] {
  const stops: [string, () => Promise<unknown>][] = [];
  const stop = async () => {
    console.log('Stopping ...');
    let failed = false;
    for (const [name, step] of stops.reverse()) {
      await step().catch((error: unknown) => {
        failed = true;
        console.error(`Stopping the ${name} failed: ${error instanceof Error ? error.message : error}`);
      });
    }
    process.exit(failed ? 1 : 0);
  };
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return stops;
}

function demoBanner(demo: Demo): string {
  return `
Demo: a small website's traffic (new visits every few seconds) is exported every 5 minutes to the bucket
${DEMO_BUCKET} of a local S3 (moto, ${demo.s3Endpoint}); its last hour is being backfilled now.
  npm run cli -- backfill ${demo.exportId} --id ${demo.backfillId} --follow   # the backfill's progress
  npm run cli -- runs ${demo.exportId}                                        # runs as a table
  npm run cli -- files ${demo.exportId} --interval latest --print              # what the latest run wrote
`;
}

/** A key kept in .data/ so that secrets stored by one dev run can be read by the next. Never for production. */
async function devEncryptionKey(): Promise<string> {
  const file = path.join(DATA_DIR, 'dev-encryption-key');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const key = randomBytes(32).toString('base64');
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

async function isListening(port: number, host: string): Promise<boolean> {
  return waitForPort(port, host, 0).then(
    () => true,
    () => false,
  );
}

/** Where a client on this machine reaches a server listening on `host`. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

main().catch((error: unknown) => {
  // Stopping half-way through starting: what was starting fails, and the stop steps end the process.
  if (stopping) return;
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
