import { BatchExportError } from '../errors';
import { PropertyFilters } from './filters';
import { HogQLError } from './hogql';
import { hogqlModelQuery } from './hogql-query';
import { isModelName, MODELS } from './registry';
import type { IntervalQuery, ModelQuery } from './types';

export interface ModelQueryInput {
  /** The export's settings that shape its query (a BatchExportRecord has them). */
  batchExport: { team_id: number; model: string; hogql_query: string | null; filters: unknown };
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
  if (!isModelName(batchExport.model)) {
    throw new BatchExportError(`Model "${batchExport.model}" cannot be exported`, { kind: 'configuration' });
  }
  const model = MODELS[batchExport.model];
  if (model.hogql && batchExport.hogql_query) return compileStoredHogQL(batchExport.hogql_query, interval);
  return model.query(interval);
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
