import type { FastifyInstance } from 'fastify';
import { listRunsPage } from '../../db/runs';
import { requireBatchExport } from '../../service/batch-exports';
import { readLogs } from '../../service/logs';
import { cancelRun, requireRun } from '../../service/runs';
import { cursorLinks, decodeCursor } from '../pagination';
import { presentLog, presentRun } from '../presenters';
import { ExportParams, LogList, LogsQuery, RunList, RunParams, RunResponse, RunsQuery } from '../schemas';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/** An export's runs: list (cursor pagination), retrieve, cancel, logs. */
export function runRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    const exportParams = scopedParams(scopeParams, ExportParams.shape);
    const runParams = scopedParams(scopeParams, RunParams.shape);
    const read = { scope: 'batch_export:read' } as const;

    app.get('/batch_exports/:batch_export_id/runs', {
      config: read,
      schema: {
        tags: [tag],
        summary: "List a batch export's runs",
        params: exportParams,
        querystring: RunsQuery,
        response: withErrors({ 200: RunList }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const { ordering, status, after, before, limit } = request.query;
        const cursor = decodeCursor(request.query.cursor, ordering);
        const page = await listRunsPage(deps.pool, {
          batchExportId: batchExport.id,
          ordering,
          statuses: status,
          after,
          before,
          direction: cursor?.direction ?? 'next',
          position: cursor,
          limit,
        });
        return { ...cursorLinks(request, page, ordering, cursor), results: page.rows.map(presentRun) };
      },
    });

    app.get('/batch_exports/:batch_export_id/runs/:id', {
      config: read,
      schema: { tags: [tag], summary: 'Retrieve a run', params: runParams, response: withErrors({ 200: RunResponse }) },
      handler: async (request) => {
        await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        return presentRun(await requireRun(deps, request.params.batch_export_id, request.params.id));
      },
    });

    app.post('/batch_exports/:batch_export_id/runs/:id/cancel', {
      config: { scope: 'batch_export:write' },
      schema: {
        tags: [tag],
        summary: 'Cancel a run',
        description: 'Cancels its workflow; the run ends Cancelled. Only Starting or Running runs can be cancelled.',
        params: runParams,
        response: withErrors({ 200: RunResponse }),
      },
      handler: async (request) => {
        const { batch_export_id: batchExportId, id } = request.params;
        await requireBatchExport(deps.pool, batchExportId, request.access.teamIds);
        const run = await cancelRun(deps, batchExportId, id, request.access.actor);
        request.log.info({ batch_export_id: batchExportId, run_id: id }, 'Run cancelled');
        return presentRun(run);
      },
    });

    app.get('/batch_exports/:batch_export_id/runs/:id/logs', {
      config: read,
      schema: {
        tags: [tag],
        summary: "A run's log entries",
        params: runParams,
        querystring: LogsQuery.omit({ instance_id: true }),
        response: withErrors({ 200: LogList }),
      },
      handler: async (request) => {
        const { batch_export_id: batchExportId, id } = request.params;
        await requireBatchExport(deps.pool, batchExportId, request.access.teamIds);
        await requireRun(deps, batchExportId, id);
        const entries = await readLogs(deps.pool, batchExportId, { ...request.query, instance_id: id });
        return { results: entries.map(presentLog) };
      },
    });
  };
}
