import type { ModelDefinition } from './model';
import type { IntervalQuery, ModelField, ModelQuery } from './types';

/** The exported fields of a person, one row per distinct id. */
export const PERSON_FIELDS: readonly ModelField[] = [
  { name: 'team_id', type: 'integer', expression: 'r.team_id' },
  { name: 'distinct_id', type: 'string', expression: 'r.distinct_id' },
  { name: 'person_id', type: 'uuid', expression: 'r.person_id' },
  { name: 'properties', type: 'json', expression: 'r.properties' },
  { name: 'person_version', type: 'integer', expression: 'r.person_version' },
  { name: 'person_distinct_id_version', type: 'integer', expression: 'r.person_distinct_id_version' },
  { name: 'created_at', type: 'timestamp', expression: 'r.created_at' },
  { name: 'is_deleted', type: 'boolean', expression: 'r.is_deleted' },
  { name: 'inserted_at', type: 'timestamp', expression: 'r.inserted_at' },
];

/**
 * Every distinct id whose mapping or person changed in the interval, with the latest versions of both as of the
 * interval's end. "As of the end" (rows inserted before it), not "now": exporting the same interval again gives the
 * same rows. `is_deleted` is set when the mapping or the person is deleted; `inserted_at` is the later of the two.
 * A mapping whose person row has not arrived yet is left out; it is exported with the interval the person lands in.
 */
export function personsQuery(query: IntervalQuery): ModelQuery {
  const text = `
    WITH changed AS (
      SELECT distinct_id FROM person_distinct_ids
      WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3
      UNION
      SELECT d.distinct_id FROM persons p
      JOIN person_distinct_ids d ON d.team_id = p.team_id AND d.person_id = p.id AND d.inserted_at < $3
      WHERE p.team_id = $1 AND p.inserted_at >= $2 AND p.inserted_at < $3
    ), mapping AS (
      SELECT DISTINCT ON (d.distinct_id) d.*
      FROM person_distinct_ids d JOIN changed USING (distinct_id)
      WHERE d.team_id = $1 AND d.inserted_at < $3
      ORDER BY d.distinct_id, d.version DESC, d.inserted_at DESC
    )
    SELECT m.team_id, m.distinct_id, m.person_id, p.properties, p.version AS person_version,
           m.version AS person_distinct_id_version, p.created_at, (m.is_deleted OR p.is_deleted) AS is_deleted,
           greatest(m.inserted_at, p.inserted_at) AS inserted_at
    FROM mapping m
    JOIN LATERAL (
      SELECT * FROM persons p
      WHERE p.team_id = $1 AND p.id = m.person_id AND p.inserted_at < $3
      ORDER BY p.version DESC, p.inserted_at DESC
      LIMIT 1
    ) p ON true`;
  return {
    model: 'persons',
    fields: PERSON_FIELDS,
    source: { text, values: [query.teamId, query.dataIntervalStart, query.dataIntervalEnd] },
    // distinct_id is unique within an interval: a total, stable order.
    orderBy: ['r.distinct_id'],
  };
}

export const persons: ModelDefinition = {
  query: personsQuery,
  sourceTables: ['persons', 'person_distinct_ids'],
  mergeKey: {
    key: ['team_id', 'distinct_id'],
    newer:
      'EXCLUDED.person_version > t.person_version OR EXCLUDED.person_distinct_id_version > t.person_distinct_id_version',
    required: ['team_id', 'distinct_id', 'person_version', 'person_distinct_id_version'],
  },
  hogql: false,
};
