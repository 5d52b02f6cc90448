import type { FieldType } from '../../models/types';
import type { DestinationColumn, TableSpec } from '../postgres/table';
import { quoteIdentifier } from './connect';

/**
 * The Snowflake side of a table spec (src/destinations/postgres/table.ts says which columns a model writes and how:
 * events deduplicated by uuid, persons and sessions merged on the model's key). Values travel as text: each column
 * is read from the source as text (`sourceExpression`), bound as TEXT into a staging table of VARCHAR columns, and
 * cast to the table's type by the MERGE that moves a batch into the user's table (`castFromText`).
 */

const SNOWFLAKE_TYPES: Record<FieldType, string> = {
  string: 'VARCHAR',
  uuid: 'VARCHAR',
  integer: 'NUMBER(38,0)',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  // UTC wall time: what the platform's own Snowflake export writes, and unambiguous without a session time zone.
  timestamp: 'TIMESTAMP_NTZ(6)',
  // Nested JSON stays queryable with `properties:"$browser"`.
  json: 'VARIANT',
};

export const STAGING = quoteIdentifier('batch_export_staging');

/** The keys this session merged, kept across batches for the count after the last one (see writtenKeysStatements). */
export const WRITTEN_KEYS = quoteIdentifier('batch_export_written_keys');

/** A column's value in the source, as the text the MERGE casts: timestamps as ISO UTC with microseconds. */
export function sourceExpression(column: DestinationColumn): string {
  if (column.type === 'timestamp') {
    return `to_char((${column.expression})::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
  }
  return `(${column.expression})::text`;
}

/** The staging column `s.<name>`, as the column's Snowflake type. */
export function castFromText(column: DestinationColumn): string {
  const value = `s.${quoteIdentifier(column.name)}`;
  switch (column.type) {
    case 'json':
      return `PARSE_JSON(${value})`;
    case 'string':
    case 'uuid':
      return value;
    default:
      return `${value}::${SNOWFLAKE_TYPES[column.type]}`;
  }
}

/** CREATE TABLE IF NOT EXISTS for the spec's created columns (the key declared; Snowflake does not enforce it). */
export function createTableStatement(spec: TableSpec, table: string): string {
  const columns = spec.created.map((name) => {
    const column = spec.columns.find((candidate) => candidate.name === name)!;
    return `${quoteIdentifier(name)} ${SNOWFLAKE_TYPES[column.type]}`;
  });
  if (spec.primaryKey) columns.push(`PRIMARY KEY (${spec.primaryKey.map(quoteIdentifier).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (${columns.join(', ')})`;
}

/** The session's staging table: one VARCHAR column per written column, emptied before each batch. */
export function createStagingStatement(columns: readonly DestinationColumn[]): string {
  const list = columns.map((column) => `${quoteIdentifier(column.name)} VARCHAR`).join(', ');
  return `CREATE OR REPLACE TEMPORARY TABLE ${STAGING} (${list})`;
}

/** One row of the batch per execution of this INSERT (the driver sends the rows as one array binding). */
export function stagingInsertStatement(columns: readonly DestinationColumn[]): string {
  const list = columns.map((column) => quoteIdentifier(column.name)).join(', ');
  return `INSERT INTO ${STAGING} (${list}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/**
 * Moves the staged batch into the user's table. Events: rows whose uuid the table has are skipped, so that a batch
 * sent again after a crash or a retry adds nothing (`replace`, a backfill: they are overwritten with the source's
 * values instead). Persons and sessions: merged on the model's key, updated only when the model's `newer` holds.
 * Append (a custom query without uuid): a plain INSERT.
 */
export function mergeStatement(
  spec: TableSpec,
  columns: readonly DestinationColumn[],
  table: string,
  replace: boolean,
): string {
  const target = quoteIdentifier(table);
  const names = columns.map((column) => quoteIdentifier(column.name));
  const source = `(SELECT ${columns.map((column) => `${castFromText(column)} AS ${quoteIdentifier(column.name)}`).join(', ')} FROM ${STAGING} AS s)`;
  const insert = `INSERT (${names.join(', ')}) VALUES (${names.map((name) => `s.${name}`).join(', ')})`;
  const mode = spec.mode;
  const on = (keys: readonly string[]) =>
    keys.map((key) => `t.${quoteIdentifier(key)} = s.${quoteIdentifier(key)}`).join(' AND ');
  const update = (keys: readonly string[]) =>
    names
      .filter((_, i) => !keys.includes(columns[i]!.name))
      .map((name) => `${name} = s.${name}`)
      .join(', ');
  switch (mode.kind) {
    case 'dedupe': {
      const matched = replace ? ` WHEN MATCHED THEN UPDATE SET ${update([mode.column])}` : '';
      return `MERGE INTO ${target} AS t USING ${source} AS s ON ${on([mode.column])}${matched} WHEN NOT MATCHED THEN ${insert}`;
    }
    case 'merge': {
      // The model's condition is written for Postgres's ON CONFLICT: its incoming row EXCLUDED is our `s`.
      const newer = mode.newer.replace(
        /\b(EXCLUDED|t)\.([a-z_][a-z0-9_]*)/g,
        (_, alias: string, name: string) => `${alias === 't' ? 't' : 's'}.${quoteIdentifier(name)}`,
      );
      return `MERGE INTO ${target} AS t USING ${source} AS s ON ${on(mode.key)} WHEN MATCHED AND (${newer}) THEN UPDATE SET ${update(mode.key)} WHEN NOT MATCHED THEN ${insert}`;
    }
    case 'append':
      return `INSERT INTO ${target} (${names.join(', ')}) SELECT ${names.map((name) => `s.${name}`).join(', ')} FROM ${source} AS s`;
  }
}

/**
 * Snowflake's own count after the last batch: each batch adds its keys (as text) to a session table, and the table's
 * rows with those keys are counted at the end. The three statements: create the key table, record a staged batch's
 * keys, count.
 */
export function writtenKeysStatements(
  columns: readonly DestinationColumn[],
  keys: readonly string[],
  table: string,
): { create: string; record: string; count: string } {
  const keyColumns = keys.map((key) => columns.find((column) => column.name === key)!);
  const list = keys.map(quoteIdentifier).join(', ');
  const matches = keyColumns
    .map((column) => `t.${quoteIdentifier(column.name)} = ${castFromText(column)}`)
    .join(' AND ');
  return {
    create: `CREATE OR REPLACE TEMPORARY TABLE ${WRITTEN_KEYS} (${keys.map((key) => `${quoteIdentifier(key)} VARCHAR`).join(', ')})`,
    record: `INSERT INTO ${WRITTEN_KEYS} (${list}) SELECT ${list} FROM ${STAGING}`,
    count: `SELECT count(*) AS "n" FROM ${quoteIdentifier(table)} AS t WHERE EXISTS (SELECT 1 FROM ${WRITTEN_KEYS} AS s WHERE ${matches})`,
  };
}
