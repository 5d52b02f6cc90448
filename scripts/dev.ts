import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { ensureDatabase } from '../src/db/ensure-database';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { startLocalTemporal, type LocalTemporal } from '../src/dev/temporal-server';
import { waitForPort } from '../src/dev/ports';
import { buildServer } from '../src/api/server';
import { createApiKey } from '../src/db/api-keys';
import { createOrganization, createProject } from '../src/db/organizations';
import { createLogger } from '../src/logger';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createWorker } from '../src/temporal/worker';
import { createActivities } from '../activities';
import { startReconciler } from '../src/service/reconciler';
import { errorMessage } from '../src/errors';

/**
 * The whole system on one machine, on embedded defaults: a Temporal dev server with its Web UI (unless
 * TEMPORAL_ADDRESS points at one already running), the metadata database created and migrated, a worker, and the
 * HTTP API. Ctrl-C stops everything.
 */
const DATA_DIR = path.resolve(__dirname, '../.data');
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
const DEV_ALLOWED_NETWORKS = '127.0.0.0/8,::1/128';

async function main(): Promise<void> {
  await mkdir(DATA_DIR, { recursive: true });
  process.env.ENCRYPTION_KEY ??= await devEncryptionKey();
  // A local setup exports to local databases and MinIO: loopback is allowed here, and only here, by default.
  process.env.DESTINATION_ALLOWED_NETWORKS ??= DEV_ALLOWED_NETWORKS;
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

  let temporal: LocalTemporal | undefined;
  const [host, port] = config.temporal.address.split(':') as [string, string];
  if (!(await isListening(Number(port), host))) {
    console.log(`Starting a Temporal dev server on ${config.temporal.address} ...`);
    temporal = await startLocalTemporal({
      port: Number(port) || TEMPORAL_PORT,
      uiPort: TEMPORAL_UI_PORT,
      dbFilename: path.join(DATA_DIR, 'temporal.db'),
    });
  }

  await ensureDatabase(config.databaseUrl);
  // The worker's exports read through it too (see worker.ts): a connection per activity slot beside the API's.
  const pool = createPool(config.databaseUrl, {
    max: 10 + config.worker.maxConcurrentActivities,
    applicationName: 'batch-exports-dev',
  });
  const applied = await migrate(pool);
  console.log(applied.length ? `Applied migrations ${applied.join(', ')}` : 'Database is up to date');

  const devAccess = await devApiKey(pool);
  const connection = await connectWorker(config.temporal);
  const activities = createActivities({ pool, sourcePool: pool, config });
  const worker = await createWorker({ connection, config, activities });
  const running = worker.run();
  const temporalClient = await connectClient(config.temporal);
  const logger = createLogger(config.logLevel).child({ component: 'api' });
  const stopReconciler = startReconciler(
    { pool, temporal: temporalClient },
    {
      intervalMs: config.reconcileIntervalMs,
      onError: (error) => logger.warn({ error: errorMessage(error) }, 'Reconciling closed workflows failed'),
    },
  );
  const api = await buildServer({ deps: { pool, temporal: temporalClient, config, logger }, logger });
  await api.listen({ host: config.api.host, port: config.api.port });

  console.log(`
Batch exports is running.
  Temporal Web UI: ${temporal ? `http://127.0.0.1:${TEMPORAL_UI_PORT}` : '(your own Temporal server)'}
  Temporal:        ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})
  API:             http://${config.api.host}:${config.api.port}/api/ (docs at /api/docs, OpenAPI at /api/schema/)
  Database:        ${redactPassword(config.databaseUrl)}
  Destinations:    public addresses${config.destinationAccess.allowedNetworks.length ? ` and ${config.destinationAccess.allowedNetworks.join(', ')}` : ''} (DESTINATION_ALLOWED_NETWORKS)
  Dev API key:     ${devAccess.key} (project ${devAccess.projectId}; kept in .data/dev-api-key)
Try: curl -H "Authorization: Bearer ${devAccess.key}" http://${config.api.host}:${config.api.port}/api/projects/${devAccess.projectId}/batch_exports
Press Ctrl-C to stop.`);

  const shutdown = async () => {
    console.log('Stopping ...');
    await api.close();
    await stopReconciler();
    await temporalClient.connection.close();
    worker.shutdown();
    await running;
    await connection.close();
    await pool.end();
    await temporal?.env.teardown();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await running;
}

/** A key kept in .data/ so that secrets stored by one dev run can be read by the next. Never for production. */
async function devEncryptionKey(): Promise<string> {
  const file = path.join(DATA_DIR, 'dev-encryption-key');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const key = randomBytes(32).toString('base64');
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

/** An organization, project and key for local use, made on the first run and kept in .data/ (0600). */
async function devApiKey(pool: ReturnType<typeof createPool>): Promise<{ key: string; projectId: number }> {
  const file = path.join(DATA_DIR, 'dev-api-key');
  if (existsSync(file)) {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { key: string; projectId: number };
    const { rowCount } = await pool.query('SELECT 1 FROM projects WHERE id = $1', [saved.projectId]);
    if (rowCount) return saved;
  }
  const organization = await createOrganization(pool, 'Local development');
  const project = await createProject(pool, organization.id, 'Local development');
  const { key } = await createApiKey(pool, {
    organizationId: organization.id,
    userEmail: 'dev@localhost',
    label: 'npm run dev',
    scopes: ['batch_export:read', 'batch_export:write'],
    scopedProjectIds: null,
  });
  const saved = { key, projectId: project.id };
  await writeFile(file, JSON.stringify(saved), { mode: 0o600 });
  return saved;
}

async function isListening(port: number, host: string): Promise<boolean> {
  return waitForPort(port, host, 0).then(
    () => true,
    () => false,
  );
}

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
