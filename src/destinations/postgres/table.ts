import { escapeIdentifier } from 'pg';
import { EVENT_FIELDS, EVENT_PROPERTIES, jsonWithoutNul } from '../../models/events';
import type { MergeKey } from '../../models/model';
import { isModelName, MODELS } from '../../models/registry';
import type { FieldType, ModelField, ModelQuery } from '../../models/types';

/** A column the export can write: its name, the type it gets when we create the table, its value over `r`. */
export interface DestinationColumn extends ModelField {
  sqlType: string;
  /** The expression uses the spec's `perRow` values (`p.`). */
  perRow?: boolean;
}

/**
 * How rows reach the table. `dedupe`: insert rows whose uuid is not in the table yet (events, so that retries and
 * re-exports never duplicate). `merge`: upsert on `key`, updating only when `newer` holds (persons, sessions).
 * `append`: plain insert, for custom queries without a uuid.
 */
export type WriteMode =
  { kind: 'dedupe'; column: string } | { kind: 'merge'; key: readonly string[]; newer: string } | { kind: 'append' };

export interface TableSpec {
  /** Every column the export can fill, in the order it creates them. */
  columns: readonly DestinationColumn[];
  /** The columns of a table the export creates (a subset of `columns`). */
  created: readonly string[];
  primaryKey: readonly string[] | null;
  mode: WriteMode;
  /** Columns the user's table must have for `mode` to work. */
  required: readonly string[];
  /** Per-row values the `perRow` columns use (ModelQuery.perRow). */
  perRow?: string;
}

/**
 * An event's properties as jsonb, parsed once per row for the four columns taken out of them: `->` on json parses
 * the whole text again for each (about half the source query's time on web events). jsonb holds no \u0000: the
 * properties are cleaned first, and the columns need no cleaning of their own.
 */
const EVENT_PER_ROW = `(${EVENT_PROPERTIES})::jsonb AS props`;

const SQL_TYPES: Record<FieldType, string> = {
  string: 'TEXT',
  integer: 'BIGINT',
  float: 'DOUBLE PRECISION',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSONB',
  uuid: 'UUID',
};

/** JSON goes to JSONB, which cannot hold \u0000: such escapes become \ufffd. */
function toColumn(field: ModelField): DestinationColumn {
  const expression = field.type === 'json' ? jsonWithoutNul(`(${field.expression})`) : field.expression;
  return { ...field, expression, sqlType: SQL_TYPES[field.type] };
}

/**
 * A column holding a top-level key of the event's properties: JSON as `->` gives it, text as `->>` does. In SQL
 * (the Snowflake destination's source query) it is taken from the per-row jsonb; the Postgres destination finds it
 * in the properties' text itself (CopyEncoder).
 */
function fromProperties(name: string, type: 'json' | 'string', key: string): DestinationColumn {
  const text = type === 'string';
  return {
    name,
    type,
    sqlType: SQL_TYPES[type],
    expression: `(p.props ${text ? '->>' : '->'} '${key}')`,
    perRow: true,
    fromJson: { field: 'properties', key, text },
  };
}

/** The events table of docs/design.md §6, then the other event fields, written when the user's table has them. */
function eventColumns(): DestinationColumn[] {
  const field = (name: string) => toColumn(EVENT_FIELDS.find((candidate) => candidate.name === name)!);
  const spec: DestinationColumn[] = [
    field('uuid'),
    field('event'),
    { ...field('properties'), expression: EVENT_PROPERTIES },
    // The chain as the platform stores it, as a JSON string.
    { name: 'elements', type: 'json', sqlType: 'JSONB', expression: 'to_jsonb(r.elements_chain)' },
    fromProperties('set', 'json', '$set'),
    fromProperties('set_once', 'json', '$set_once'),
    field('distinct_id'),
    field('team_id'),
    fromProperties('ip', 'string', '$ip'),
    fromProperties('site_url', 'string', '$current_url'),
    field('timestamp'),
  ];
  const extra = EVENT_FIELDS.filter((candidate) => !spec.some((column) => column.name === candidate.name));
  return [...spec, ...extra.map(toColumn)];
}

/** What the export writes for a model query, and how. */
export function tableSpec(query: ModelQuery): TableSpec {
  // The events model proper (not a hogql_query, whose fields are its aliases) has the table of docs/design.md §6.
  if (query.fields === EVENT_FIELDS) {
    const columns = eventColumns();
    return {
      columns,
      created: columns.slice(0, 11).map((column) => column.name),
      primaryKey: ['uuid'],
      mode: { kind: 'dedupe', column: 'uuid' },
      required: ['uuid'],
      perRow: EVENT_PER_ROW,
    };
  }
  const columns = query.fields.map(toColumn);
  const all = columns.map((column) => column.name);
  const merge = mergeKey(query.model);
  if (merge) {
    return {
      columns,
      created: all,
      primaryKey: merge.key,
      mode: { kind: 'merge', key: merge.key, newer: merge.newer },
      required: merge.required,
    };
  }
  const hasUuid = columns.some((column) => column.name === 'uuid' && column.type === 'uuid');
  return {
    columns,
    created: all,
    primaryKey: hasUuid ? ['uuid'] : null,
    mode: hasUuid ? { kind: 'dedupe', column: 'uuid' } : { kind: 'append' },
    required: hasUuid ? ['uuid'] : [],
  };
}

/** The model query to read `columns` (a choice of the spec's) with: the spec's per-row values when they use them. */
export function sourceQuery(query: ModelQuery, spec: TableSpec, columns: readonly DestinationColumn[]): ModelQuery {
  return columns.some((column) => column.perRow) ? { ...query, perRow: spec.perRow } : query;
}

/** The model's merge key (src/models/registry.ts), or null for models whose rows never change. */
export function mergeKey(model: string): MergeKey | null {
  return isModelName(model) ? MODELS[model].mergeKey : null;
}

export function qualifiedName(schema: string, table: string): string {
  return `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
}

/** CREATE TABLE IF NOT EXISTS for the spec's created columns. */
export function createTableStatement(spec: TableSpec, schema: string, table: string): string {
  const columns = spec.created.map((name) => {
    const column = spec.columns.find((candidate) => candidate.name === name)!;
    return `${escapeIdentifier(name)} ${column.sqlType}`;
  });
  if (spec.primaryKey) columns.push(`PRIMARY KEY (${spec.primaryKey.map(escapeIdentifier).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, table)} (${columns.join(', ')})`;
}

/**
 * The INSERT that moves a committed batch from the staging table into the user's table. `uniqueKey`: the table has a
 * unique index on the dedupe column, so ON CONFLICT alone skips rows already there. Without one, NOT EXISTS does.
 */
export function insertStatement(
  spec: TableSpec,
  columns: readonly string[],
  target: string,
  staging: string,
  uniqueKey: boolean,
): string {
  const list = columns.map(escapeIdentifier).join(', ');
  const select = `SELECT ${list} FROM ${staging} AS s`;
  const mode = spec.mode;
  switch (mode.kind) {
    case 'dedupe': {
      const key = escapeIdentifier(mode.column);
      if (uniqueKey) return `INSERT INTO ${target} (${list}) ${select} ON CONFLICT (${key}) DO NOTHING`;
      return `INSERT INTO ${target} (${list}) ${select} WHERE NOT EXISTS (SELECT 1 FROM ${target} AS e WHERE e.${key} = s.${key})`;
    }
    case 'merge': {
      const updates = columns
        .filter((name) => !mode.key.includes(name))
        .map((name) => `${escapeIdentifier(name)} = EXCLUDED.${escapeIdentifier(name)}`);
      return `INSERT INTO ${target} AS t (${list}) ${select}
              ON CONFLICT (${mode.key.map(escapeIdentifier).join(', ')}) DO UPDATE SET ${updates.join(', ')}
              WHERE ${mode.newer}`;
    }
    case 'append':
      return `INSERT INTO ${target} (${list}) ${select}`;
  }
}

/** The columns that identify a row of the table: the dedupe column or the merge key; null in append mode. */
export function keyColumns(spec: TableSpec): readonly string[] | null {
  switch (spec.mode.kind) {
    case 'dedupe':
      return [spec.mode.column];
    case 'merge':
      return spec.mode.key;
    case 'append':
      return null;
  }
}

/**
 * Run before insertStatement in each batch's transaction: events already in the table with a uuid of the batch are
 * deleted, so that an interval exported again (a backfill) holds the source's rows, not what was there. Persons and
 * sessions need none: they merge on their keys.
 */
export function replaceStatement(spec: TableSpec, target: string, staging: string): string | null {
  if (spec.mode.kind !== 'dedupe') return null;
  const key = escapeIdentifier(spec.mode.column);
  return `DELETE FROM ${target} AS t USING ${staging} AS s WHERE t.${key} = s.${key}`;
}
