import { buildModelQuery } from '../models';
import type { ModelQuery } from '../models/types';
import type { InsertAttempt } from './contract';

/** The event filters every destination's config may carry. */
export type FilteredConfig = { include_events?: string[] | null; exclude_events?: string[] | null };

/** The query of the attempt's interval: its export's model, restricted to the interval and the config's filters. */
export function attemptModelQuery(attempt: InsertAttempt<FilteredConfig>): ModelQuery {
  return buildModelQuery({
    batchExport: attempt.batchExport,
    dataIntervalStart: new Date(attempt.input.dataIntervalStart),
    dataIntervalEnd: new Date(attempt.input.dataIntervalEnd),
    includeEvents: attempt.config.include_events,
    excludeEvents: attempt.config.exclude_events,
  });
}
