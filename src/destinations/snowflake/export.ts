import { BatchExportError } from '../../errors';
import type { CopyBatch } from '../../models/copy-stream';
import { readSourceAsText, type BatchedExportOptions, type BatchedExportResult } from '../batched-interval';
import { keyColumns, sourceQuery, tableSpec, type DestinationColumn } from '../postgres/table';
import type { SnowflakeDestinationConfig } from './config';
import { connectToSnowflake, useContext, type Bind, type SnowflakeSession } from './connect';
import { classifySnowflakeError, errorContext } from './errors';
import {
  createStagingStatement,
  createTableStatement,
  mergeStatement,
  sourceExpression,
  STAGING,
  stagingInsertStatement,
  writtenKeysStatements,
} from './table';

/**
 * Loads an interval into the user's table, one source batch at a time: the batch is bound into a temporary staging
 * table, then one MERGE moves it into the table on its key (events on uuid, persons and sessions on the model's
 * key). The MERGE is idempotent: a batch sent again (the worker died after the MERGE, before its progress was
 * saved) adds no row, so resuming after the last saved batch writes every row exactly once.
 */
export async function exportToSnowflake(
  options: BatchedExportOptions<SnowflakeDestinationConfig>,
): Promise<BatchedExportResult> {
  const { config } = options;
  const context = errorContext(config);
  const destination = <T>(operation: () => Promise<T>) =>
    operation().catch((error: unknown) => Promise.reject(classifySnowflakeError(error, context)));

  const session = await destination(() => connectToSnowflake(config, options.network));
  try {
    const spec = tableSpec(options.query);
    const columns = await destination(() => prepareTable(session, spec, config));
    const insert = stagingInsertStatement(columns);
    const merge = mergeStatement(spec, columns, config.table_name, options.replace === true);
    const keys = keyColumns(spec);
    const written = keys ? writtenKeysStatements(columns, keys, config.table_name) : null;
    if (written) await destination(() => session.execute(written.create));
    const { batches, sourceRecords: countedSource } = readSourceAsText(
      { ...options, query: sourceQuery(options.query, spec, columns) },
      columns,
      sourceExpression,
    );
    let records = options.resumeFrom?.records ?? 0;
    let bytes = options.resumeFrom?.bytes ?? 0;
    for await (const batch of batches) {
      options.signal?.throwIfAborted();
      const { rows, size } = batchRows(batch, columns.length);
      await destination(async () => {
        await session.execute(`TRUNCATE TABLE ${STAGING}`);
        await session.execute(insert, rows);
        await session.execute(merge);
        if (written) await session.execute(written.record);
      });
      records += batch.rows;
      bytes += size;
      await options.onCommit?.({ cursor: batch.cursor, records, bytes });
    }
    const sourceRecords = countedSource();
    if (!written) return { records, bytes, sourceRecords, destinationRecords: null };
    // Rows merged by earlier attempts are taken from their saved progress: this session knows only its own keys.
    const { rows } = await destination(() => session.execute(written.count));
    const destinationRecords = (options.resumeFrom?.records ?? 0) + Number(rows[0]?.n ?? 0);
    if (sourceRecords !== null && destinationRecords !== sourceRecords) {
      throw new BatchExportError(
        `After the last MERGE, table "${config.database}"."${config.schema}"."${config.table_name}" holds ` +
          `${destinationRecords} of the ${sourceRecords} rows the source has for the interval (${records} written): ` +
          `another writer changed them. Retry the run once the table is fixed`,
        { kind: 'verification' },
      );
    }
    return { records, bytes, sourceRecords, destinationRecords };
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** The first `width` fields of a batch's rows (all text) as bind values, and their size in bytes. */
function batchRows(batch: CopyBatch, width: number): { rows: Bind[][]; size: number } {
  const rows: Bind[][] = [];
  let size = 0;
  for (let row = 0; row < batch.rows; row++) {
    const values: Bind[] = [];
    for (let column = 0; column < width; column++) {
      const index = row * batch.width + column;
      const length = batch.lengths[index]!;
      if (length < 0) {
        values.push(null);
        continue;
      }
      const start = batch.starts[index]!;
      values.push(batch.data.toString('utf8', start, start + length));
      size += length;
    }
    rows.push(values);
  }
  return { rows, size };
}

/**
 * Uses the warehouse, database and schema, creates the table when it is missing, and returns the spec's columns the
 * table has (the user's table decides what is written). Creates the session's staging table.
 */
async function prepareTable(
  session: SnowflakeSession,
  spec: ReturnType<typeof tableSpec>,
  config: SnowflakeDestinationConfig,
): Promise<DestinationColumn[]> {
  await useContext(session, config);
  await session.execute(createTableStatement(spec, config.table_name));
  const { rows } = await session.execute(
    'SELECT column_name AS "name" FROM information_schema.columns WHERE table_schema = ? AND table_name = ?',
    [config.schema, config.table_name],
  );
  const existing = rows.map((row) => String(row.name));
  const columns = spec.columns.filter((column) => existing.includes(column.name));
  const missing = spec.required.filter((name) => !existing.includes(name));
  if (missing.length || columns.length === 0) {
    const names = missing.length ? missing : spec.created;
    throw new BatchExportError(
      `Table "${config.database}"."${config.schema}"."${config.table_name}" lacks column${names.length > 1 ? 's' : ''} ${names.join(', ')} (names are case-sensitive): add ${names.length > 1 ? 'them' : 'it'} or use another table_name`,
      { kind: 'configuration' },
    );
  }
  await session.execute(createStagingStatement(columns));
  return columns;
}
