import { buildServer } from '../src/api/server';
import { loadConfig } from '../src/config';
import { createPool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { lazyClient } from '../src/temporal/connection';
import { detectSearchAttributes } from '../src/temporal-ui/search-attributes';

/** The API process: `npm run api`. Listens on API_HOST:API_PORT; SIGTERM / SIGINT finish open requests, then exit. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel).child({ component: 'api' });
  const pool = createPool(config.databaseUrl, { applicationName: 'batch-exports-api' });
  const temporal = await lazyClient(config.temporal);
  const stopLooking = new AbortController();
  await detectSearchAttributes(
    temporal.connection,
    config.temporal.namespace,
    (message) => logger.warn(message),
    stopLooking.signal,
  );
  const app = await buildServer({ deps: { pool, temporal, config, logger }, logger, http: config.api });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'API shutting down');
    await app.close();
    stopLooking.abort();
    await pool.end();
    await temporal.connection.close();
    logger.info('API stopped');
    // A Temporal call still retrying when the connection closed (a request that gave up at its deadline while the
    // client's retry timer kept going) would throw 'Channel has been shut down' when its timer fires, and its timer
    // keeps the process alive until then: everything is closed, so exit now (pino writes stdout synchronously).
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ host: config.api.host, port: config.api.port });
  logger.info({ docs: '/api/docs', schema: '/api/schema/' }, 'API listening');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
