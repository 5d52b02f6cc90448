import { DatabaseError } from 'pg';
import { BatchExportError } from '../errors';

/**
 * Maps an error of the source query. Data exceptions (SQLSTATE class 22) come from the export's own definition — a
 * filter regex Postgres rejects, a hogql_query expression failing on some row — and fail the same way on every
 * retry, so they are configuration errors naming what to change. Anything else is returned as it is.
 */
export function classifySourceError(error: unknown): unknown {
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
