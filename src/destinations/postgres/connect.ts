import { isIP } from 'node:net';
import { Client, type ClientConfig } from 'pg';
import type { DestinationAccess } from '../../config';
import { isTransientNetworkError } from '../../errors';
import { checkHostOnSave, resolveAllowed, type NetworkPolicy } from '../../net/policy';
import type { PostgresDestinationConfig } from './config';

/** Long enough for a server across the world, short enough that a black-holed host fails the attempt quickly. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Waiting longer than this for a lock on the table means someone else holds it (a migration, a long query). */
const LOCK_TIMEOUT_MS = 60_000;

/** One batch's COPY or INSERT; far above what a healthy server needs for a batch. */
const STATEMENT_TIMEOUT_MS = 10 * 60_000;

const SSL_NOT_SUPPORTED = 'The server does not support SSL connections';

/** Refuses a host outside the network policy when the config is saved (see checkHostOnSave). */
export async function checkPostgresAccess(config: PostgresDestinationConfig, access: DestinationAccess): Promise<void> {
  await checkHostOnSave(config.host, access, { field: 'host', value: config.host });
}

/**
 * Connects to the destination like libpq's default `sslmode=prefer`: TLS when the server offers it (verifying the
 * certificate unless `has_self_signed_cert`), plain when the server has no TLS at all. The session runs in UTC so
 * that timestamps travel unambiguously. The host is resolved once, through the network policy, and the client
 * dials the address that was checked; TLS still names and verifies the host name.
 */
export async function connectToDestination(config: PostgresDestinationConfig, policy: NetworkPolicy): Promise<Client> {
  const addresses = await resolveAllowed(config.host, policy, { field: 'host', value: config.host });
  // Like node:net with a name: each address in turn while the network says no (an IPv6 address without a route).
  let unreachable: unknown;
  for (const { address } of addresses) {
    try {
      return await connectToAddress(address, config);
    } catch (error) {
      if (!isTransientNetworkError(error)) throw error;
      unreachable = error;
    }
  }
  throw unreachable;
}

async function connectToAddress(address: string, config: PostgresDestinationConfig): Promise<Client> {
  // SNI and certificate verification use the host name; an IP literal is verified as itself.
  const servername = isIP(config.host) ? undefined : config.host;
  const base: ClientConfig = {
    host: address,
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
    const ssl = { rejectUnauthorized: !config.has_self_signed_cert, servername };
    return await connected(new Client({ ...base, ssl }));
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
