import { DatabaseError } from 'pg';
import { BatchExportError, errorMessage, isTransientNetworkError, type ErrorKind } from '../../errors';
import type { PostgresDestinationConfig } from './config';

export interface PostgresErrorContext {
  host: string;
  port: number;
  database: string;
  schema: string;
  table: string;
  /** Secret config values (user, password): scrubbed from every message, the server's included. */
  secrets: readonly string[];
}

/** Where an error happened, for its message; the secrets to keep out of it. */
export function errorContext(config: PostgresDestinationConfig): PostgresErrorContext {
  const { host, port, database, schema, table_name: table } = config;
  return { host, port, database, schema, table, secrets: [config.user, config.password] };
}

type Hint = (context: PostgresErrorContext) => string;

/** What the user should change, by SQLSTATE. Codes not listed here are classified by their class (first two chars). */
const KNOWN: Record<string, { kind: ErrorKind; hint: Hint }> = {
  '28P01': { kind: 'configuration', hint: () => 'Password authentication failed: check user and password' },
  '28000': {
    kind: 'configuration',
    hint: () =>
      'The server refused the login: check user, and that the server accepts connections from the workers (pg_hba.conf)',
  },
  '3D000': { kind: 'configuration', hint: (c) => `Database "${c.database}" does not exist: check database` },
  '3F000': { kind: 'configuration', hint: (c) => `Schema "${c.schema}" does not exist: create it or check schema` },
  '42501': {
    kind: 'permission',
    hint: (c) =>
      `The user lacks a privilege: grant it USAGE and CREATE on schema "${c.schema}", and SELECT, INSERT, UPDATE on table "${c.table}"`,
  },
  '42P10': {
    kind: 'configuration',
    hint: (c) =>
      `Table "${c.schema}"."${c.table}" needs a primary key or unique index on its key columns to merge rows`,
  },
  '42809': { kind: 'configuration', hint: (c) => `"${c.schema}"."${c.table}" is not a table: check table_name` },
  '25006': { kind: 'configuration', hint: () => 'The server is read-only (a replica?): point host at the primary' },
  '23502': {
    kind: 'configuration',
    hint: (c) =>
      `Table "${c.table}" has a NOT NULL column the export does not fill: give it a default or drop NOT NULL`,
  },
  '23505': {
    kind: 'configuration',
    hint: (c) => `A unique index on table "${c.table}" rejects exported rows: drop it or check table_name`,
  },
};

/** Classes of SQLSTATE a later attempt may not hit: connection trouble, resources, shutdowns, conflicts. */
const TRANSIENT_CLASSES = ['08', '53', '57', '40', '55', 'XX'];

const INCOMPATIBLE_CLASSES = ['22', '42'];

/** TLS failures that mean the certificate is not trusted: the user must say it is self-signed. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Maps an error of the destination database to a BatchExportError whose message tells the user what to fix. */
export function classifyPostgresError(error: unknown, context: PostgresErrorContext): BatchExportError {
  if (error instanceof BatchExportError) return error;
  const where = `${context.host}:${context.port}/${context.database}, table "${context.schema}"."${context.table}"`;
  const make = (kind: ErrorKind, message: string) =>
    new BatchExportError(redact(message, context.secrets), {
      kind,
      cause: error,
      context: { host: context.host, database: context.database, schema: context.schema, table: context.table },
    });
  const detail = redact(errorMessage(error), context.secrets);

  if (error instanceof DatabaseError && error.code) {
    const code = error.code;
    const known = KNOWN[code];
    if (known) return make(known.kind, `${known.hint(context)} (SQLSTATE ${code} on ${where}: ${detail})`);
    const sqlClass = code.slice(0, 2);
    if (TRANSIENT_CLASSES.includes(sqlClass) || code.startsWith('57P')) {
      return make(
        'transient',
        `The destination database is unavailable, will retry (SQLSTATE ${code} on ${where}: ${detail})`,
      );
    }
    if (INCOMPATIBLE_CLASSES.includes(sqlClass)) {
      return make(
        'configuration',
        `Exported values do not fit table "${context.schema}"."${context.table}": check its column types against the export's (SQLSTATE ${code} on ${where}: ${detail})`,
      );
    }
    return make('unknown', `The destination database failed (SQLSTATE ${code} on ${where}: ${detail})`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
    return make(
      'configuration',
      `The server's TLS certificate is not trusted (${code}): set has_self_signed_cert if it is self-signed (${where})`,
    );
  }
  if (isTransientNetworkError(error) || /Connection terminated|timeout/i.test(detail)) {
    return make('transient', `Could not reach the destination database at ${context.host}:${context.port}: ${detail}`);
  }
  return make('unknown', `Export to ${where} failed: ${detail}`);
}

/**
 * Replaces each secret in a message; the server names the user in authentication errors, for one. Secrets under 3
 * characters are left: replacing them would garble every message and hide little.
 */
export function redact(message: string, secrets: readonly string[]): string {
  let result = message;
  for (const secret of secrets) {
    if (secret.length >= 3) result = result.split(secret).join('***');
  }
  return result;
}
