import { filterConditions } from './filters';
import type { ModelDefinition } from './model';
import { PreparedValue } from './read-transaction';
import type { IntervalQuery, ModelField, ModelQuery } from './types';

/**
 * A json column for the `->`/`->>` operators, which fail on a \u0000 escape ("unsupported Unicode escape
 * sequence") that the json type stores fine. The escape becomes \ufffd: the same length and kind of
 * token, so the text stays valid JSON. Only derived fields read this; `properties` itself is exported verbatim.
 */
export function jsonWithoutNul(column: string): string {
  return `(CASE WHEN strpos(${column}::text, '\\u0000') > 0
  THEN replace(${column}::text, '\\u0000', '\\ufffd')::json ELSE ${column} END)`;
}

/**
 * The event's properties for `->`/`->>`, like jsonWithoutNul but testing for \u0000 once per row (the source's
 * `#nul` column) instead of once per derived field: the test reads the whole text each time.
 */
export const EVENT_PROPERTIES = `(CASE WHEN r."#nul" THEN replace(r.properties::text, '\\u0000', '\\ufffd')::json ELSE r.properties END)`;

/** The exported fields of an event, in output order. `set`/`set_once` are `$set`/`$set_once` of its properties. */
export const EVENT_FIELDS: readonly ModelField[] = [
  { name: 'uuid', type: 'uuid', expression: 'r.uuid' },
  { name: 'event', type: 'string', expression: 'r.event' },
  { name: 'properties', type: 'json', expression: 'r.properties' },
  { name: 'distinct_id', type: 'string', expression: 'r.distinct_id' },
  { name: 'team_id', type: 'integer', expression: 'r.team_id' },
  { name: 'timestamp', type: 'timestamp', expression: 'r.timestamp' },
  { name: 'created_at', type: 'timestamp', expression: 'r.created_at' },
  { name: 'inserted_at', type: 'timestamp', expression: 'r.inserted_at' },
  { name: 'elements_chain', type: 'string', expression: 'r.elements_chain' },
  { name: 'person_id', type: 'uuid', expression: 'r.person_id' },
  { name: 'person_properties', type: 'json', expression: 'r.person_properties' },
  {
    name: 'set',
    type: 'json',
    expression: `${EVENT_PROPERTIES} -> '$set'`,
    fromJson: { field: 'properties', key: '$set' },
  },
  {
    name: 'set_once',
    type: 'json',
    expression: `${EVENT_PROPERTIES} -> '$set_once'`,
    fromJson: { field: 'properties', key: '$set_once' },
  },
];

/**
 * The events of the interval. Duplicated uuids (the platform may ingest an event twice) are exported once, keeping
 * the first inserted. Ordered by (inserted_at, uuid).
 *
 * Deduplication takes two steps. The `prepare` query finds the copies to drop (every copy of a duplicated uuid but
 * the first, by inserted_at then physical position), usually none, and the source leaves those rows out by ctid: a
 * filter on the scan. Deduplicating in one query (DISTINCT ON (uuid), or an anti-join) sorts or hashes every wide
 * row by uuid and stops Postgres from scanning, building JSON and sorting in parallel workers; it took twice the
 * time of the plain query on a million events (docs/notes/issue-6-bench.md).
 */
export function eventsQuery(query: IntervalQuery): ModelQuery {
  const values: unknown[] = [query.teamId, query.dataIntervalStart, query.dataIntervalEnd];
  const conditions = ['team_id = $1', 'inserted_at >= $2', 'inserted_at < $3'];
  if (query.includeEvents?.length) {
    values.push(query.includeEvents);
    conditions.push(`event = ANY($${values.length}::text[])`);
  }
  if (query.excludeEvents?.length) {
    values.push(query.excludeEvents);
    conditions.push(`event <> ALL($${values.length}::text[])`);
  }
  if (query.filters?.length) {
    const column = (type: 'event' | 'person') => jsonWithoutNul(type === 'person' ? 'person_properties' : 'properties');
    conditions.push(...filterConditions(query.filters, column, values));
  }
  const where = conditions.join(' AND ');
  // The duplicated uuids are counted once, in the leader (MATERIALIZED): as a subquery, each parallel worker of the
  // outer scan counted the whole interval's uuids again (three times the CPU on two cores).
  const duplicates = {
    text: `WITH duplicated AS MATERIALIZED (SELECT uuid FROM events WHERE ${where} GROUP BY uuid HAVING count(*) > 1)
           SELECT coalesce(array_agg(ctid), '{}') FROM (
             SELECT ctid, row_number() OVER (PARTITION BY uuid ORDER BY inserted_at, ctid) AS copy FROM events
             WHERE ${where} AND uuid IN (SELECT uuid FROM duplicated)
           ) AS copies WHERE copy > 1`,
    values: [...values],
  };
  // A constant list (`<> ALL` of a literal array) is hashed and keeps the plan parallel; a subquery would not.
  values.push(new PreparedValue());
  return {
    model: 'events',
    fields: EVENT_FIELDS,
    source: {
      text: `SELECT *, strpos(properties::text, '\\u0000') > 0 AS "#nul" FROM events
             WHERE ${where} AND ctid <> ALL($${values.length}::tid[])`,
      values,
      prepare: { ...duplicates, parameter: values.length },
    },
    orderBy: ['r.inserted_at', 'r.uuid'],
    indexOrdered: true,
    // From the (team_id, inserted_at) index, without the filters: a large interval is then read in slices.
    sliceRange: {
      text: `SELECT count(*)::bigint AS rows, min(inserted_at)::text AS first, max(inserted_at)::text AS last
             FROM events WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3`,
      values: values.slice(0, 3),
    },
  };
}

export const events: ModelDefinition = {
  query: eventsQuery,
  sourceTables: ['events'],
  mergeKey: null,
  hogql: true,
};
