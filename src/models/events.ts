import type { IntervalQuery, SqlQuery } from './types';

/**
 * `properties` for the `->` operator, which fails on a \u0000 escape ("unsupported Unicode escape sequence") that
 * the json type stores fine. The escape becomes \ufffd: the same length and kind of token, so the text stays valid
 * JSON. Only `set`/`set_once` read this; `properties` itself is exported verbatim.
 */
const PROPERTIES_WITHOUT_NUL = `(CASE WHEN strpos(e.properties::text, '\\u0000') > 0
  THEN replace(e.properties::text, '\\u0000', '\\ufffd')::json ELSE e.properties END)`;

/**
 * The exported fields of an event, in output order, as SQL expressions over the deduplicated row `e`.
 * `set`/`set_once` are the `$set`/`$set_once` objects of the event's properties.
 */
export const EVENT_FIELDS: ReadonlyArray<readonly [name: string, expression: string]> = [
  ['uuid', 'e.uuid'],
  ['event', 'e.event'],
  ['properties', 'e.properties'],
  ['distinct_id', 'e.distinct_id'],
  ['team_id', 'e.team_id'],
  ['timestamp', 'e.timestamp'],
  ['created_at', 'e.created_at'],
  ['inserted_at', 'e.inserted_at'],
  ['elements_chain', 'e.elements_chain'],
  ['person_id', 'e.person_id'],
  ['person_properties', 'e.person_properties'],
  ['set', `${PROPERTIES_WITHOUT_NUL} -> '$set'`],
  ['set_once', `${PROPERTIES_WITHOUT_NUL} -> '$set_once'`],
];

/**
 * One JSON object per event of the interval, as text, built by Postgres (its JSON encoder is faster than
 * serialising row objects in Node). Duplicated uuids (the platform may ingest an event twice) are exported once,
 * keeping the first inserted. Rows come ordered by (inserted_at, uuid) so that a position in the stream can be
 * named by its last row.
 */
export function eventsJsonQuery(query: IntervalQuery): SqlQuery {
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
  const object = EVENT_FIELDS.map(([name, expression]) => `'${name}', ${expression}`).join(', ');
  return {
    text: `
      SELECT json_build_object(${object})::text AS line
      FROM (
        SELECT DISTINCT ON (uuid) *
        FROM events
        WHERE ${conditions.join(' AND ')}
        ORDER BY uuid, inserted_at
      ) AS e
      ORDER BY e.inserted_at, e.uuid`,
    values,
  };
}
