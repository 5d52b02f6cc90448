import type { FastifyInstance } from 'fastify';
import { listProjects } from '../../db/organizations';
import { runStatsSince } from '../../db/run-stats';
import { estimateBackfill } from '../../service/backfill-estimate';
import { requireBatchExport } from '../../service/batch-exports';
import {
  BackfillEstimateBody,
  BackfillEstimateResponse,
  ConsoleSession,
  RunStatsQuery,
  RunStatsResponse,
} from '../console-schemas';
import { ExportParams } from '../schemas';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/**
 * What the web console reads beyond the reference's routes, under each scope: rows per export over the last hours,
 * and a backfill's estimate before it starts.
 */
export function consoleRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    const read = { scope: 'batch_export:read' } as const;

    app.get('/batch_exports/stats', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'Rows and runs per export over the last hours',
        description: 'Per export, the completed runs, their rows and the failed runs of the intervals that ended in the window.',
        params: scopeParams,
        querystring: RunStatsQuery,
        response: withErrors({ 200: RunStatsResponse }),
      },
      handler: async (request) => {
        const since = new Date(Date.now() - request.query.hours * 3600_000);
        const results = await runStatsSince(deps.pool, request.access.teamIds, since);
        return { since: since.toISOString(), results };
      },
    });

    app.post('/batch_exports/:batch_export_id/backfills/estimate', {
      // Read: nothing is started, and a read-only user may well want to know.
      config: read,
      schema: {
        tags: [tag],
        summary: 'Estimate a backfill',
        description:
          'The intervals a backfill of this range would run and the rows it would export, estimated from recent ' +
          'runs. The range is checked as on create; nothing is started.',
        params: scopedParams(scopeParams, ExportParams.shape),
        body: BackfillEstimateBody,
        response: withErrors({ 200: BackfillEstimateResponse }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const estimate = await estimateBackfill(deps, batchExport, request.body);
        return {
          start_at: estimate.startAt?.toISOString() ?? null,
          end_at: estimate.endAt.toISOString(),
          intervals: estimate.intervals,
          records_per_interval: estimate.recordsPerInterval,
          estimated_records: estimate.estimatedRecords,
          based_on_runs: estimate.basedOnRuns,
        };
      },
    });
  };
}

/** GET /api/console/session: who the key is, what it may do, and which projects it reaches. */
export function consoleSessionRoute(deps: RouteContext['deps']) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    app.get('/api/console/session', {
      config: { scope: 'batch_export:read', wholeKey: true },
      schema: {
        tags: ['console'],
        summary: 'The calling key, for the web console',
        description: "The key's scopes and projects; the key itself is never returned.",
        response: withErrors({ 200: ConsoleSession }),
      },
      handler: async (request) => {
        const { key, teamIds } = request.access;
        const projects = (await listProjects(deps.pool, key.organization_id)).filter((p) => teamIds.includes(p.id));
        const temporalUiUrl = deps.config.api.temporalUiUrl;
        return {
          organization_id: key.organization_id,
          user_email: key.user_email,
          label: key.label,
          scopes: key.scopes,
          can_write: key.scopes.includes('*') || key.scopes.includes('batch_export:write'),
          projects: projects.map(({ id, name }) => ({ id, name })),
          temporal_ui: temporalUiUrl ? { url: temporalUiUrl, namespace: deps.config.temporal.namespace } : null,
        };
      },
    });
  };
}
