import type { IntervalQuery, ModelQuery } from './types';

/**
 * How rows of a model replace the rows a destination already holds when an interval is exported again: upsert on
 * `key`, updating only when `newer` (SQL over the incoming row `EXCLUDED` and the stored row `t`) holds.
 */
export interface MergeKey {
  key: readonly string[];
  newer: string;
  /** Columns a user's table must have for the merge to work (the key and what `newer` reads). */
  required: readonly string[];
}

/** Everything the engine knows about one model; src/models/registry.ts lists them. */
export interface ModelDefinition {
  /** The query that reads one interval of the model. */
  query: (interval: IntervalQuery) => ModelQuery;
  /**
   * The source tables the model reads, each with an index leading with (team_id, inserted_at): a backfill asks them
   * where its data starts and roughly how much there is (src/models/bounds.ts).
   */
  sourceTables: readonly string[];
  /** How a re-export replaces rows; null: rows never change, the events table deduplicates them by uuid instead. */
  mergeKey: MergeKey | null;
  /** Whether a hogql_query may shape its rows: events only, which hogql_query selects from (models/hogql-query.ts). */
  hogql: boolean;
}
