import { DatabaseError } from 'pg';
import { BatchExportError, isTransientNetworkError } from '../errors';

/**
 * Maps an error of the source query. Data exceptions (SQLSTATE class 22) come from the export's own definition — a
 * filter regex Postgres rejects, a hogql_query expression failing on some row — and fail the same way on every
 * retry, so they are configuration errors naming what to change. A lost connection (a failover, a DBA's
 * `pg_terminate_backend`, a restart) is transient: the attempt fails at once and is retried. Anything else is
 * returned as it is.
 */
export function classifySourceError(error: unknown): unknown {
  if (isLostConnection(error)) {
    return new BatchExportError(
      `Lost the connection to the source database (${(error as Error).message}); the attempt is retried`,
      { kind: 'transient', cause: error },
    );
  }
  if (!(error instanceof DatabaseError) || !error.code?.startsWith('22')) return error;
  const what =
    error.code === '2201B'
      ? 'A regular expression in the filters is not valid for Postgres: check the regex / not_regex filters'
      : "Reading the model's rows failed on a value: check the export's filters and hogql_query";
  return new BatchExportError(`${what} (SQLSTATE ${error.code}: ${error.message})`, {
    kind: 'configuration',
    cause: error,
  });
}

/**
 * SQLSTATE 57P01-57P03 (terminated by an administrator, crash or shutdown, not accepting connections yet) and class
 * 08 (connection exception) are sent by the server as it drops us; node-postgres raises "Connection terminated
 * unexpectedly" when the socket closes without a word.
 */
function isLostConnection(error: unknown): boolean {
  if (error instanceof DatabaseError) return /^57P0[123]$/.test(error.code ?? '') || !!error.code?.startsWith('08');
  return (
    isTransientNetworkError(error) || (error instanceof Error && error.message.startsWith('Connection terminated'))
  );
}
