import type { BatchExportRecord } from '../db/batch-exports';
import { BatchExportError } from '../errors';
import { HogQLError } from './hogql';
import { eventsQuery } from './events';
import { PropertyFilters } from './filters';
import { hogqlModelQuery } from './hogql-query';
import { personsQuery } from './persons';
import { sessionsQuery } from './sessions';
import type { IntervalQuery, ModelQuery } from './types';

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
  const { batchExport } = input;
  const interval: IntervalQuery = {
    teamId: batchExport.team_id,
    dataIntervalStart: input.dataIntervalStart,
    dataIntervalEnd: input.dataIntervalEnd,
    includeEvents: input.includeEvents,
    excludeEvents: input.excludeEvents,
    filters: parseStoredFilters(batchExport.filters),
  };
  switch (batchExport.model) {
    case 'events':
      return batchExport.hogql_query ? compileStoredHogQL(batchExport.hogql_query, interval) : eventsQuery(interval);
    case 'persons':
      return personsQuery(interval);
    case 'sessions':
      return sessionsQuery(interval);
    default:
      throw new BatchExportError(`Model "${String(batchExport.model)}" cannot be exported`, { kind: 'configuration' });
  }
}

// Both were validated when the export was saved; these errors only fire for rows written some other way.
function parseStoredFilters(filters: unknown): PropertyFilters | null {
  if (filters === null || filters === undefined) return null;
  const parsed = PropertyFilters.safeParse(filters);
  if (parsed.success) return parsed.data;
  throw new BatchExportError(`The export's filters are invalid: ${parsed.error.issues[0]?.message}`, {
    kind: 'configuration',
  });
}

function compileStoredHogQL(hogql: string, interval: IntervalQuery): ModelQuery {
  try {
    return hogqlModelQuery(hogql, interval);
  } catch (error) {
    if (!(error instanceof HogQLError)) throw error;
    throw new BatchExportError(`The export's hogql_query is invalid: ${error.message}`, { kind: 'configuration' });
  }
}
