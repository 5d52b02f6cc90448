import { BatchExportError, errorMessage, isTransientNetworkError, type ErrorKind } from '../../errors';
import { redact } from '../postgres/errors';
import { snowflakeHost, type SnowflakeDestinationConfig } from './config';

export interface SnowflakeErrorContext {
  host: string;
  account: string;
  warehouse: string;
  database: string;
  schema: string;
  table: string;
  /** Secret config values: scrubbed from every message, Snowflake's included. */
  secrets: readonly string[];
}

export function errorContext(config: SnowflakeDestinationConfig): SnowflakeErrorContext {
  return {
    host: snowflakeHost(config),
    account: config.account,
    warehouse: config.warehouse,
    database: config.database,
    schema: config.schema,
    table: config.table_name,
    secrets: [config.password, config.private_key, config.private_key_passphrase].filter(
      (secret): secret is string => typeof secret === 'string',
    ),
  };
}

type Hint = (context: SnowflakeErrorContext) => string;

const LOGIN_REFUSED: Hint = () => 'Snowflake refused the login: check user and password (or private_key)';

/**
 * What the user should change, by Snowflake's error code (`code` of the driver's error, six digits). Codes from
 * Snowflake's documented errors and the messages it sends with them; codes not listed are classified below.
 */
const KNOWN: Record<string, { kind: ErrorKind; hint: Hint }> = {
  // Incorrect username or password was specified.
  '390100': { kind: 'configuration', hint: LOGIN_REFUSED },
  // User temporarily locked / disabled.
  '390101': {
    kind: 'configuration',
    hint: () => 'The Snowflake user is locked or disabled: ask an admin to unlock it',
  },
  '390102': {
    kind: 'configuration',
    hint: () => 'The Snowflake user is locked or disabled: ask an admin to unlock it',
  },
  // JWT token is invalid: the public key on the user does not match private_key.
  '390144': {
    kind: 'configuration',
    hint: () => "Snowflake refused the key pair: set the user's RSA_PUBLIC_KEY to the public key of private_key",
  },
  // Role specified in the connect string does not exist or not authorized.
  '390189': { kind: 'configuration', hint: () => 'The role does not exist or is not granted to the user: check role' },
  // Incoming request with IP is not allowed to access Snowflake (a network policy on the account).
  '390422': {
    kind: 'configuration',
    hint: () => "The account's network policy does not allow the workers' addresses: add them to it",
  },
  // No active warehouse selected in the current session.
  '000606': {
    kind: 'configuration',
    hint: (c) => `Warehouse "${c.warehouse}" cannot be used: check warehouse and that the role has USAGE on it`,
  },
  // Object does not exist or not authorized (a warehouse, database, schema or table).
  '002003': {
    kind: 'configuration',
    hint: (c) =>
      `Warehouse "${c.warehouse}", database "${c.database}" or schema "${c.schema}" does not exist or the role may not use it: check them`,
  },
  '002043': {
    kind: 'configuration',
    hint: (c) =>
      `Warehouse "${c.warehouse}", database "${c.database}" or schema "${c.schema}" does not exist or the role may not use it: check them`,
  },
  // Insufficient privileges to operate on ...
  '003001': {
    kind: 'permission',
    hint: (c) =>
      `The role lacks a privilege: grant it USAGE on warehouse "${c.warehouse}", database "${c.database}" and schema "${c.schema}", CREATE TABLE on the schema, and SELECT, INSERT, UPDATE on table "${c.table}"`,
  },
  // Warehouse is suspended and cannot resume (no AUTO_RESUME, or the account's credits ran out).
  '000630': {
    kind: 'configuration',
    hint: (c) => `Warehouse "${c.warehouse}" is suspended: resume it or enable AUTO_RESUME`,
  },
};

/** Driver errors of a request that did not get an answer (the network, a 5xx, a gateway's HTML): retried. */
const DRIVER_NETWORK_CODES = new Set([401001, 401002, 401003, 402001, 402002]);

/** Driver errors about the connection options (ERR_CONN_CREATE_*, an unreadable private key): not retried. */
function isConnectionOptionError(code: number): boolean {
  return code >= 404000 && code < 405000;
}

/** Maps an error of the driver or of Snowflake to a BatchExportError whose message tells the user what to fix. */
export function classifySnowflakeError(error: unknown, context: SnowflakeErrorContext): BatchExportError {
  if (error instanceof BatchExportError) return error;
  const where = `Snowflake account ${context.account} (${context.host}), table "${context.database}"."${context.schema}"."${context.table}"`;
  const make = (kind: ErrorKind, message: string) =>
    new BatchExportError(redact(message, context.secrets), {
      kind,
      cause: error,
      context: { account: context.account, database: context.database, schema: context.schema, table: context.table },
    });
  const detail = redact(errorMessage(error), context.secrets);
  const { code, sqlState, cause } = (error ?? {}) as { code?: unknown; sqlState?: unknown; cause?: unknown };
  const snowflakeCode = typeof code === 'string' && /^\d{6}$/.test(code) ? code : null;
  if (snowflakeCode) {
    const known = KNOWN[snowflakeCode];
    if (known)
      return make(known.kind, `${known.hint(context)} (Snowflake error ${snowflakeCode} on ${where}: ${detail})`);
    // 42xxx: the statement does not fit the table (a column of another type, a syntax Snowflake refused).
    if (typeof sqlState === 'string' && (sqlState.startsWith('42') || sqlState.startsWith('22'))) {
      return make(
        'configuration',
        `Exported values do not fit table "${context.table}": check its column types against the export's (Snowflake error ${snowflakeCode} on ${where}: ${detail})`,
      );
    }
    // Session expired (390112, 390114): a new attempt logs in again.
    if (snowflakeCode.startsWith('3901'))
      return make('transient', `The Snowflake session ended, will retry (${detail})`);
    return make('unknown', `Snowflake failed (error ${snowflakeCode} on ${where}: ${detail})`);
  }
  // OpenSSL could not read the private key (a wrong passphrase, a key that is not PKCS#8 PEM).
  if (typeof code === 'string' && code.startsWith('ERR_OSSL')) {
    return make(
      'configuration',
      `The private key cannot be read: check private_key (PEM, PKCS#8) and private_key_passphrase (${detail})`,
    );
  }
  if (typeof code === 'number') {
    if (DRIVER_NETWORK_CODES.has(code) || isTransientNetworkError(cause)) {
      return make('transient', `Could not reach Snowflake at ${context.host}, will retry: ${detail}`);
    }
    if (isConnectionOptionError(code)) {
      return make('configuration', `The Snowflake connection settings are invalid: ${detail}`);
    }
  }
  if (isTransientNetworkError(error) || isTransientNetworkError(cause)) {
    return make('transient', `Could not reach Snowflake at ${context.host}, will retry: ${detail}`);
  }
  return make('unknown', `Export to ${where} failed: ${detail}`);
}
