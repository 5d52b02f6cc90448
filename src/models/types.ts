/** What every model query needs: one team's rows inserted in [start, end). */
export interface IntervalQuery {
  teamId: number;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  includeEvents?: string[] | null;
  excludeEvents?: string[] | null;
}

/** A parameterised query: user-supplied values only ever travel in `values`. */
export interface SqlQuery {
  text: string;
  values: unknown[];
}

/** How a field is typed in typed outputs (Parquet columns, Postgres tables). JSON lines render every type natively. */
export type FieldType = 'string' | 'integer' | 'float' | 'boolean' | 'timestamp' | 'json' | 'uuid';

export interface ModelField {
  name: string;
  type: FieldType;
  /** A SQL expression over the row source's alias `r`. */
  expression: string;
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
}

/** One JSON object per row, as text, built by Postgres (faster than serialising row objects in Node). */
export function jsonLinesQuery(query: ModelQuery): SqlQuery {
  const object = query.fields.map((field) => `'${field.name}', ${field.expression}`).join(', ');
  return {
    text: `SELECT json_build_object(${object})::text AS line FROM (${query.source.text}) AS r ORDER BY ${query.orderBy.join(', ')}`,
    values: query.source.values,
  };
}

/** One column per field, named after it, for typed writers. JSON fields come as JSON text. */
export function columnsQuery(query: ModelQuery): SqlQuery {
  const columns = query.fields
    .map((field) => `${field.type === 'json' ? `(${field.expression})::text` : field.expression} AS "${field.name}"`)
    .join(', ');
  return {
    text: `SELECT ${columns} FROM (${query.source.text}) AS r ORDER BY ${query.orderBy.join(', ')}`,
    values: query.source.values,
  };
}
