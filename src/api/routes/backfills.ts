import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listBackfillsPage } from '../../db/backfills';
import { backfillExport, cancelBackfill, getBackfillOf, retryRun } from '../../service/backfills';
import { requireBatchExport } from '../../service/batch-exports';
import { presentBackfill } from '../backfill-presenter';
import {
  BackfillBody,
  BackfillCreated,
  BackfillList,
  BackfillParams,
  BackfillResponse,
  BackfillsQuery,
} from '../backfill-schemas';
import { cursorLinks, decodeCursor } from '../pagination';
import { ApiErrorResponse, ExportParams, IdParams, RunParams } from '../schemas';
import { backfillWorkflowRunRoutes } from './backfill-workflow-runs';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/**
 * Every backfill route: backfills list / create / retrieve / cancel, the deprecated POST .../backfill and
 * runs/:id/retry (a one-interval backfill). The backfill service does the work; a team over its limit of active
 * backfills gets a 429 from the error handler (src/api/errors.ts).
 */
export function backfillRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    await fastify.register(backfillWorkflowRunRoutes({ deps, scopeParams, tag }));
    const app = zodApp(fastify);
    const read = { scope: 'batch_export:read' } as const;
    const write = { scope: 'batch_export:write' } as const;
    const exportParams = scopedParams(scopeParams, ExportParams.shape);
    const backfillParams = scopedParams(scopeParams, BackfillParams.shape);
    const tooMany = ApiErrorResponse.describe('Too many active backfills.');

    /** Both create routes, the current and the deprecated one. */
    const create = async (request: FastifyRequest, batchExportId: string, body: unknown) => {
      const batchExport = await requireBatchExport(deps.pool, batchExportId, request.access.teamIds);
      const backfill = await backfillExport(deps, batchExport, body);
      request.log.info({ batch_export_id: batchExport.id, backfill_id: backfill.id }, 'Backfill created');
      return { backfill_id: backfill.id };
    };

    app.get('/batch_exports/:batch_export_id/backfills', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'List backfills',
        description: "A batch export's backfills, newest first, with their progress.",
        params: exportParams,
        querystring: BackfillsQuery,
        response: withErrors({ 200: BackfillList }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const { ordering, limit } = request.query;
        const cursor = decodeCursor(request.query.cursor, ordering);
        const page = await listBackfillsPage(deps.pool, {
          batchExportId: batchExport.id,
          ordering,
          direction: cursor?.direction ?? 'next',
          position: cursor,
          limit,
        });
        return { ...cursorLinks(request, page, ordering, cursor), results: page.rows.map(presentBackfill) };
      },
    });

    app.post('/batch_exports/:batch_export_id/backfills', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Create a backfill',
        description: 'Exports every interval of the range the schedule would have run, a few at a time, oldest first.',
        params: exportParams,
        body: BackfillBody,
        response: withErrors({ 201: BackfillCreated, 429: tooMany }),
      },
      handler: async (request, reply) =>
        reply.code(201).send(await create(request, request.params.batch_export_id, request.body)),
    });

    app.get('/batch_exports/:batch_export_id/backfills/:id', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'Retrieve a backfill',
        params: backfillParams,
        response: withErrors({ 200: BackfillResponse }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const input = { teamId: batchExport.team_id, batchExportId: batchExport.id, backfillId: request.params.id };
        return presentBackfill(await getBackfillOf(deps, input));
      },
    });

    app.post('/batch_exports/:batch_export_id/backfills/:id/cancel', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Cancel a backfill',
        description: 'Stops it and cancels its active runs; the backfill and those runs end Cancelled.',
        params: backfillParams,
        response: withErrors({ 200: BackfillResponse }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const input = { teamId: batchExport.team_id, batchExportId: batchExport.id, backfillId: request.params.id };
        const backfill = await cancelBackfill(deps, input);
        request.log.info({ batch_export_id: batchExport.id, backfill_id: backfill.id }, 'Backfill cancelled');
        return presentBackfill(backfill);
      },
    });

    app.post('/batch_exports/:id/backfill', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Create a backfill (deprecated)',
        description: 'Deprecated: use POST /batch_exports/{id}/backfills/ instead. Same body and behaviour.',
        deprecated: true,
        params: scopedParams(scopeParams, IdParams.shape),
        body: BackfillBody,
        response: withErrors({ 200: BackfillCreated, 429: tooMany }),
      },
      handler: async (request) => create(request, request.params.id, request.body),
    });

    app.post('/batch_exports/:batch_export_id/runs/:id/retry', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Retry a run',
        description:
          "Exports the run's interval again, as a backfill of that one interval. The run must have finished.",
        params: scopedParams(scopeParams, RunParams.shape),
        response: withErrors({ 200: BackfillCreated, 429: tooMany }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const backfill = await retryRun(deps, batchExport, request.params.id);
        request.log.info(
          { batch_export_id: batchExport.id, run_id: request.params.id, backfill_id: backfill.id },
          'Run retried',
        );
        return { backfill_id: backfill.id };
      },
    });
  };
}
