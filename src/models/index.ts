import type { BatchExportRecord } from '../db/batch-exports';
import { BatchExportError } from '../errors';
import { eventsQuery } from './events';
import type { ModelQuery } from './types';

export interface ModelQueryInput {
  batchExport: Pick<BatchExportRecord, 'team_id' | 'model' | 'hogql_query' | 'filters'>;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  /** From the destination config. */
  includeEvents?: string[] | null;
  excludeEvents?: string[] | null;
}

/** The query that reads one interval of an export's model: the one entry point every destination's activity uses. */
export function buildModelQuery(input: ModelQueryInput): ModelQuery {
  const interval = {
    teamId: input.batchExport.team_id,
    dataIntervalStart: input.dataIntervalStart,
    dataIntervalEnd: input.dataIntervalEnd,
    includeEvents: input.includeEvents,
    excludeEvents: input.excludeEvents,
  };
  switch (input.batchExport.model) {
    case 'events':
      return eventsQuery(interval);
    default:
      throw new BatchExportError(`Model "${input.batchExport.model}" cannot be exported yet`, {
        kind: 'configuration',
      });
  }
}
