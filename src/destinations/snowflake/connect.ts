import http from 'node:http';
import https from 'node:https';
import type snowflake from 'snowflake-sdk';
import type { DestinationAccess } from '../../config';
import { checkHostOnSave, checkLiteralHost, policyLookup, type NetworkPolicy } from '../../net/policy';
import { snowflakeHost, snowflakeHostField, type SnowflakeDestinationConfig } from './config';

/**
 * The driver, loaded on the first connection: it adds about 60 MB to a process's memory, which a worker that never
 * exports to Snowflake should not carry. Its own log goes to the console and a file by default; our errors carry what
 * the user needs.
 */
let driver: Promise<typeof snowflake> | null = null;
function loadDriver(): Promise<typeof snowflake> {
  driver ??= import('snowflake-sdk').then((module) => {
    const loaded = (module as { default?: typeof snowflake }).default ?? (module as unknown as typeof snowflake);
    loaded.configure({ logLevel: 'OFF' });
    return loaded;
  });
  return driver;
}

/** A value bound to a `?`: the driver sends strings and nulls as TEXT. */
export type Bind = string | null;

/** One logged-in Snowflake session. */
export interface SnowflakeSession {
  /** Runs one statement; `binds` as rows of values binds an array (one execution per row, sent as one request). */
  execute(sqlText: string, binds?: readonly Bind[] | readonly (readonly Bind[])[]): Promise<SnowflakeResult>;
  close(): Promise<void>;
}

export interface SnowflakeResult {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted by DML; -1 for other statements. */
  updated: number;
}

/** Refuses a host outside the network policy when the config is saved (see checkHostOnSave). */
export async function checkSnowflakeAccess(
  config: SnowflakeDestinationConfig,
  access: DestinationAccess,
): Promise<void> {
  const host = snowflakeHost(config);
  await checkHostOnSave(host, access, { field: snowflakeHostField(config), value: host });
}

/**
 * Logs in to Snowflake. Every connection the driver opens resolves its host through the network policy: the
 * driver's `agentClass` hook hands it our agents, whose `lookup` is `policyLookup` (as the S3 client's agents). The
 * price is the driver's own OCSP-checking HTTPS agent: ours verify the certificate chain as Node does, without
 * asking the CA's OCSP responder whether it was revoked.
 */
export async function connectToSnowflake(
  config: SnowflakeDestinationConfig,
  policy: NetworkPolicy,
): Promise<SnowflakeSession> {
  const host = snowflakeHost(config);
  const target = { field: snowflakeHostField(config), value: host };
  // node:net dials an IP literal without calling `lookup`: check it here.
  checkLiteralHost(host, policy, target);
  const sdk = await loadDriver();
  const agentOptions = { keepAlive: true, lookup: policyLookup(policy, target) };
  const agent = config.protocol === 'http' ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
  // The driver compares the agent's protocol with the URL's before using it.
  Object.assign(agent, { protocol: `${config.protocol}:` });
  const port = config.port ? `:${config.port}` : '';
  const options: snowflake.ConnectionOptions & Record<string, unknown> = {
    account: config.account,
    username: config.user,
    accessUrl: `${config.protocol}://${host}${port}`,
    application: 'batch-exports',
    ...(config.private_key
      ? {
          authenticator: 'SNOWFLAKE_JWT',
          privateKey: config.private_key,
          ...(config.private_key_passphrase ? { privateKeyPass: config.private_key_passphrase } : {}),
        }
      : { password: config.password ?? '' }),
    ...(config.role ? { role: config.role } : {}),
    agentClass: () => agent,
    // The driver retries a login it cannot deliver for about three minutes; the activity's retry policy does that
    // with the error on the run for the user to see, so a host that is down fails the attempt in seconds.
    sfRetryMaxLoginRetries: 2,
  };
  const connection = sdk.createConnection(options);
  await new Promise<void>((resolve, reject) =>
    connection.connect((error) => (error ? reject(error) : resolve())),
  ).catch((error: unknown) => {
    agent.destroy();
    throw error;
  });
  return {
    execute: (sqlText, binds) =>
      new Promise((resolve, reject) => {
        connection.execute({
          sqlText,
          binds: binds as snowflake.Binds | undefined,
          complete: (error, statement, rows) => {
            if (error) return reject(error);
            resolve({ rows: (rows ?? []) as Record<string, unknown>[], updated: statement.getNumUpdatedRows() ?? -1 });
          },
        });
      }),
    close: () =>
      new Promise((resolve) => {
        connection.destroy(() => {
          agent.destroy();
          resolve();
        });
      }),
  };
}

/** A Snowflake identifier, quoted: taken as written, case included. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The session's warehouse, database and schema, each its own statement so that an error names the one missing. */
export async function useContext(session: SnowflakeSession, config: SnowflakeDestinationConfig): Promise<void> {
  await session.execute(`USE WAREHOUSE ${quoteIdentifier(config.warehouse)}`);
  await session.execute(`USE DATABASE ${quoteIdentifier(config.database)}`);
  await session.execute(`USE SCHEMA ${quoteIdentifier(config.schema)}`);
}
