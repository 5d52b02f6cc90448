import type { ModelDefinition } from './model';
import type { IntervalQuery, ModelField, ModelQuery } from './types';

/** The exported fields of a session, in output order. */
export const SESSION_FIELDS: readonly ModelField[] = [
  ...(
    [
      ['session_id', 'string'],
      ['team_id', 'integer'],
      ['distinct_id', 'string'],
      ['start_timestamp', 'timestamp'],
      ['end_timestamp', 'timestamp'],
      ['entry_url', 'string'],
      ['exit_url', 'string'],
      ['pageview_count', 'integer'],
      ['autocapture_count', 'integer'],
      ['duration', 'float'],
      ['is_bounce', 'boolean'],
      ['utm_source', 'string'],
      ['utm_medium', 'string'],
      ['utm_campaign', 'string'],
      ['utm_term', 'string'],
      ['utm_content', 'string'],
      ['inserted_at', 'timestamp'],
    ] as const
  ).map(([name, type]) => ({ name, type, expression: `r.${name}` })),
];

/**
 * The sessions updated in the interval: a session's row is appended again on every update, so each session that
 * got a row in the interval is exported once, as its latest row (the latest insert, then the latest end).
 */
export function sessionsQuery(query: IntervalQuery): ModelQuery {
  return {
    model: 'sessions',
    fields: SESSION_FIELDS,
    source: {
      text: `SELECT DISTINCT ON (session_id) * FROM sessions
             WHERE team_id = $1 AND inserted_at >= $2 AND inserted_at < $3
             ORDER BY session_id, inserted_at DESC, end_timestamp DESC`,
      values: [query.teamId, query.dataIntervalStart, query.dataIntervalEnd],
    },
    orderBy: ['r.session_id'],
  };
}

export const sessions: ModelDefinition = {
  query: sessionsQuery,
  sourceTables: ['sessions'],
  mergeKey: {
    key: ['team_id', 'session_id'],
    newer: 'EXCLUDED.end_timestamp > t.end_timestamp',
    required: ['team_id', 'session_id', 'end_timestamp'],
  },
  hogql: false,
};
