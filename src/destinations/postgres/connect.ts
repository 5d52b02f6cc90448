import { Client, type ClientConfig } from 'pg';
import type { PostgresDestinationConfig } from './config';

/** Long enough for a server across the world, short enough that a black-holed host fails the attempt quickly. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Waiting longer than this for a lock on the table means someone else holds it (a migration, a long query). */
const LOCK_TIMEOUT_MS = 60_000;

/** One batch's COPY or INSERT; far above what a healthy server needs for a batch. */
const STATEMENT_TIMEOUT_MS = 10 * 60_000;

const SSL_NOT_SUPPORTED = 'The server does not support SSL connections';

/**
 * Connects to the destination like libpq's default `sslmode=prefer`: TLS when the server offers it (verifying the
 * certificate unless `has_self_signed_cert`), plain when the server has no TLS at all. The session runs in UTC so
 * that timestamps travel unambiguously.
 */
export async function connectToDestination(config: PostgresDestinationConfig): Promise<Client> {
  const base: ClientConfig = {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    application_name: 'batch-exports',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    // A lock held on the user's table, or a statement that hangs, fails the attempt (retried) instead of holding it.
    options: `-c TimeZone=UTC -c lock_timeout=${LOCK_TIMEOUT_MS} -c statement_timeout=${STATEMENT_TIMEOUT_MS}`,
  };
  try {
    return await connected(new Client({ ...base, ssl: { rejectUnauthorized: !config.has_self_signed_cert } }));
  } catch (error) {
    if (!(error instanceof Error) || error.message !== SSL_NOT_SUPPORTED) throw error;
    return connected(new Client(base));
  }
}

async function connected(client: Client): Promise<Client> {
  // Errors on an idle client are raised by the next query; this keeps them from crashing the process meanwhile.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
