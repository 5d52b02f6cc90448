import type { FastifyInstance } from 'fastify';
import type { BatchExportRecord } from '../../db/batch-exports';
import type { ServiceDependencies } from '../../service/batch-exports';
import { ApiError } from '../errors';
import type { RouteContext } from './common';

/**
 * Every backfill route: backfills list / create / retrieve / cancel, the deprecated POST .../backfill and
 * runs/:id/retry. Backfills are not built yet, so each answers 501; this file is replaced when they land.
 */

const notAvailable = () =>
  new ApiError(501, 'server_error', 'not_implemented', 'Backfills are not available yet');

/**
 * Backfills the intervals an export missed while paused (unpause with {"backfill": true}). Called before the export
 * is unpaused, so that while backfills are unavailable the 501 leaves the export as it was.
 */
export async function backfillPausedPeriod(
  _deps: ServiceDependencies,
  _batchExport: BatchExportRecord,
  _period: { start: Date; end: Date },
): Promise<{ backfillId: string }> {
  throw notAvailable();
}

export function backfillRoutes({ tag }: RouteContext) {
  return async (app: FastifyInstance) => {
    const config = { scope: 'batch_export:write' } as const;
    const readConfig = { scope: 'batch_export:read' } as const;
    const schema = { tags: [tag], description: 'Not available yet: answers 501.' };
    const handler = async () => {
      throw notAvailable();
    };
    app.get('/batch_exports/:batch_export_id/backfills', { config: readConfig, schema: { ...schema, summary: 'List backfills' }, handler });
    app.post('/batch_exports/:batch_export_id/backfills', { config, schema: { ...schema, summary: 'Create a backfill' }, handler });
    app.get('/batch_exports/:batch_export_id/backfills/:id', { config: readConfig, schema: { ...schema, summary: 'Retrieve a backfill' }, handler });
    app.post('/batch_exports/:batch_export_id/backfills/:id/cancel', { config, schema: { ...schema, summary: 'Cancel a backfill' }, handler });
    app.post('/batch_exports/:id/backfill', { config, schema: { ...schema, summary: 'Create a backfill (deprecated)' }, handler });
    app.post('/batch_exports/:batch_export_id/runs/:id/retry', { config, schema: { ...schema, summary: 'Retry a run' }, handler });
  };
}
