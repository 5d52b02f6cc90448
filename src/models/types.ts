import type { PropertyFilter } from './filters';

/** What every model query needs: one team's rows inserted in [start, end). */
export interface IntervalQuery {
  teamId: number;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  includeEvents?: string[] | null;
  excludeEvents?: string[] | null;
  /** The export's property filters (events only). */
  filters?: readonly PropertyFilter[] | null;
}

/** A parameterised query: user-supplied values only ever travel in `values`. */
export interface SqlQuery {
  text: string;
  values: unknown[];
  /**
   * A query to run first, in the same snapshot, whose one value becomes parameter `parameter` (1-based; until then
   * a PreparedValue). Readers run it with resolveQuery (src/models/read-transaction.ts).
   */
  prepare?: { text: string; values: unknown[]; parameter: number };
  /** How the query's rows can be read as consecutive slices instead (see QuerySlicing); absent: in one piece. */
  slicing?: QuerySlicing;
  /** The rows can be read in their order from an index (ModelQuery.indexOrdered); readers then do so. */
  indexOrdered?: boolean;
}

/**
 * A query whose rows can be read in consecutive slices of its first `orderBy` expression, a timestamptz: each
 * slice is the same query restricted to lower <= value < upper, so the slices, read in order, are exactly the
 * query's rows in the query's order. Postgres sorts each slice on its own, in work_mem, where sorting a large
 * interval at once spills to disk (docs/notes/issue-19-throughput.md).
 */
export interface QuerySlicing {
  /** How many rows there are (an estimate will do) and the first and last value of the slicing expression. */
  range: SqlQuery;
  /** The query restricted to lower <= value < upper; null: that side is not bounded. */
  slice(lower: string | null, upper: string | null): SqlQuery;
}

/** How a field is typed in typed outputs (Parquet columns, Postgres tables). JSON lines render every type natively. */
export type FieldType = 'string' | 'integer' | 'float' | 'boolean' | 'timestamp' | 'json' | 'uuid';

export interface ModelField {
  name: string;
  type: FieldType;
  /** A SQL expression over the row source's alias `r`. */
  expression: string;
  /**
   * The field is the value of top-level key `key` of the JSON field `field` (`expression` says so in SQL). Readers
   * that build rows themselves (JsonLinesWriter, DerivedColumns for Parquet, CopyEncoder) take it from that field's
   * text instead: `->` on json parses the whole text in Postgres, about 3 CPU seconds per million events for each
   * such field. A value holding `\u0000`, which `->` rejects (the SQL expression writes U+FFFD), is then taken as the
   * text has it: valid JSON, as in the field it comes from.
   */
  fromJson?: {
    field: string;
    key: string;
    /** The value as `->>` gives it (a JSON string unescaped, null as NULL), not as `->`. */
    text?: boolean;
  };
}

/** The fields a query rendered with `readerDerives` sends: all but those taken from another one's JSON. */
export function readerColumns(fields: readonly ModelField[]): readonly ModelField[] {
  return fields.filter((field) => !field.fromJson);
}

/**
 * One interval of one model, ready to be rendered by a writer: the fields to output and a row source whose rows
 * are aliased `r`. `source.text` is a FROM clause body (`(SELECT ...) AS r ... ORDER BY ...` is added by renderers)
 * and `orderBy` lists the expressions that give rows a stable order, so a position in the stream can be resumed.
 */
export interface ModelQuery {
  model: string;
  fields: readonly ModelField[];
  /** A subquery producing the interval's rows (deduplicated, filtered), with parameters. */
  source: SqlQuery;
  orderBy: readonly string[];
  /**
   * One row, `rows` (an estimate will do: raw rows, before deduplication and filters), `first` and `last` (the
   * lowest and highest value of the first `orderBy` expression, a timestamptz, as text), read cheaply (an index).
   * With it, readers may read a large interval in slices (QuerySlicing); without it, always in one piece.
   */
  sliceRange?: SqlQuery;
  /**
   * Values computed once per row for fields to share, as a SELECT list over `r`: rendered as `CROSS JOIN LATERAL
   * (SELECT <perRow> OFFSET 0) AS p`, so that fields may use `p.<name>`. (OFFSET 0 keeps Postgres from copying the
   * expression into every field that uses it: an event's properties parsed to jsonb once, not once per field.)
   */
  perRow?: string;
  /**
   * An index of the source table starts with the team and the first `orderBy` expression (events: (team_id,
   * inserted_at)), so the rows can be read in order from it: Postgres then sorts only rows that tie on that
   * expression (an incremental sort) and sends the first row at once. Left to itself, Postgres may rather scan the
   * whole table in parallel and sort the interval (or each slice: each slice then scanned the whole table again),
   * which cost about 1.5 more CPU seconds per million events and a wait before the first row
   * (docs/notes/issue-19-session-h.md).
   */
  indexOrdered?: boolean;
}

/** How a renderer positions the stream, so that a writer can resume where it stopped. */
export interface RenderOptions {
  /** Only rows after this one: the `orderBy` values (as text, see `withCursor`) of the last row already written. */
  after?: readonly string[] | null;
  /**
   * Append the row's `orderBy` values as text columns after the output columns. Text, not JS values: timestamps
   * keep their microseconds, so `after` is exact.
   */
  withCursor?: boolean;
  /** Leave out the fields the reader takes from another field's JSON (ModelField.fromJson; see readerColumns). */
  readerDerives?: boolean;
}

/** One JSON object per row, as text, built by Postgres (faster than serialising row objects in Node). */
export function jsonLinesQuery(query: ModelQuery, options: RenderOptions = {}): SqlQuery {
  const object = query.fields.map((field) => `'${field.name}', ${field.expression}`).join(', ');
  return renderSelect(query, `json_build_object(${object})::text AS line`, options);
}

/** How many rows the interval has (deduplicated and filtered, as the model's source yields them), as `count`. */
export function countQuery(query: ModelQuery): SqlQuery {
  return {
    text: `SELECT count(*) AS count FROM (${query.source.text}) AS r`,
    values: [...query.source.values],
    prepare: query.source.prepare,
  };
}

/** The Postgres type each field type is read as by binary readers (see `copyColumnsQuery`). */
const COPY_TYPES: Record<FieldType, string> = {
  string: 'text',
  uuid: 'text',
  json: 'text',
  integer: 'int8',
  float: 'float8',
  boolean: 'bool',
  timestamp: 'timestamptz',
};

/**
 * One column per field, cast to one binary representation per field type (COPY_TYPES), for writers that read
 * Postgres's binary COPY format: strings of any kind as text, integers as int8, timestamps as timestamptz (a
 * timestamp without time zone is taken as UTC: readers run in UTC).
 */
export function copyColumnsQuery(query: ModelQuery, options: RenderOptions = {}): SqlQuery {
  const columns = (options.readerDerives ? readerColumns(query.fields) : query.fields)
    .map((field) => `(${field.expression})::${COPY_TYPES[field.type]} AS "${field.name}"`)
    .join(', ');
  return renderSelect(query, columns, options);
}

/**
 * The SELECT around a model's row source. `after` compares the `orderBy` row with text parameters, which Postgres
 * types from the expressions they are compared with; `orderBy` must be unique and non-null for this to be exact.
 */
function renderSelect(
  query: ModelQuery,
  columns: string,
  options: RenderOptions,
  slice?: { lower: string | null; upper: string | null },
): SqlQuery {
  const values = [...query.source.values];
  const cursor = options.withCursor
    ? query.orderBy.map((expression, i) => `, (${expression})::text AS "cursor_${i}"`).join('')
    : '';
  const conditions: string[] = [];
  if (options.after) {
    if (options.after.length !== query.orderBy.length) {
      throw new RangeError(
        `A cursor of ${options.after.length} values cannot resume an order of ${query.orderBy.length}`,
      );
    }
    const parameters = options.after.map((value) => `$${values.push(value)}`);
    conditions.push(`(${query.orderBy.join(', ')}) > (${parameters.join(', ')})`);
  }
  if (slice?.lower != null) conditions.push(`${query.orderBy[0]} >= $${values.push(slice.lower)}`);
  if (slice?.upper != null) conditions.push(`${query.orderBy[0]} < $${values.push(slice.upper)}`);
  const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  const lateral = query.perRow ? ` CROSS JOIN LATERAL (SELECT ${query.perRow} OFFSET 0) AS p` : '';
  const rendered: SqlQuery = {
    text: `SELECT ${columns}${cursor} FROM (${query.source.text}) AS r${lateral}${where} ORDER BY ${query.orderBy.join(', ')}`,
    values,
    prepare: query.source.prepare,
    ...(query.indexOrdered ? { indexOrdered: true } : {}),
  };
  if (query.sliceRange && !slice) {
    const range = query.sliceRange;
    rendered.slicing = { range, slice: (lower, upper) => renderSelect(query, columns, options, { lower, upper }) };
  }
  return rendered;
}
