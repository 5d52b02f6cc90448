import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BackfillRequest } from '../../backfills/request';
import { BACKFILL_ORDERINGS, listBackfillsPage, type BackfillRecord } from '../../db/backfills';
import type { BatchExportRecord } from '../../db/batch-exports';
import {
  backfillPausedPeriod as startPausedPeriodBackfill,
  cancelBackfill,
  createBackfill,
  getBackfillOf,
  retryRun,
  TooManyBackfillsError,
} from '../../service/backfills';
import { requireBatchExport, type ServiceDependencies } from '../../service/batch-exports';
import { STATUSES } from '../../statuses';
import { ApiError } from '../errors';
import { cursorLinks, decodeCursor } from '../pagination';
import { ApiErrorResponse, ExportParams, IdParams, RunParams } from '../schemas';
import { validatedByService } from '../validation';
import { backfillWorkflowRunRoutes } from './backfill-workflow-runs';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/**
 * Every backfill route: backfills list / create / retrieve / cancel, the deprecated POST .../backfill and
 * runs/:id/retry (a one-interval backfill). The backfill service does the work.
 */

const Timestamp = z.iso.datetime();

const BackfillParams = z.object({
  batch_export_id: z.guid().describe('The BatchExport this backfill belongs to.'),
  id: z.guid().describe('A UUID string identifying this batch export backfill.'),
});

const BackfillBody = validatedByService(
  BackfillRequest.describe(
    'start_at / end_at: dates (YYYY-MM-DD) for day and week exports, date-times with a timezone otherwise. end_at is ' +
      'required and not in the future; start_at may be left out to start from the earliest data.',
  ),
);

const BackfillCreated = z.object({ backfill_id: z.uuid() });

const BackfillResponse = z.object({
  id: z.uuid(),
  team_id: z.number().int(),
  batch_export_id: z.uuid(),
  start_at: Timestamp.nullable().describe('The start of the data interval; null = from the earliest data.'),
  end_at: Timestamp.nullable().describe('The end of the data interval.'),
  status: z.enum(STATUSES),
  created_at: Timestamp,
  finished_at: Timestamp.nullable(),
  last_updated_at: Timestamp,
  total_records_count: z.number().int().nullable().describe('Estimated while running; exported when finished.'),
  adjusted_start_at: Timestamp.nullable().describe('The start of the first interval that has data.'),
  workflow_id: z.string().nullable(),
  workflow_runs_count: z
    .number()
    .int()
    .describe('Temporal workflow runs so far: it continues as new every so many intervals (see workflow_runs).'),
  current_workflow_run_id: z.string().nullable().describe("Temporal's run id of the latest workflow run."),
  latest_error: z.string().nullable(),
  failed_intervals: z.array(
    z.object({
      data_interval_start: z.string().nullable(),
      data_interval_end: z.string(),
      error: z.string().nullable(),
    }),
  ),
  progress: z.object({
    total_runs: z.number().int().nullable(),
    finished_runs: z.number().int(),
    progress: z.number().min(0).max(1).nullable().describe('finished_runs / total_runs; null until estimated.'),
  }),
});

const BackfillList = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(BackfillResponse),
});

const BackfillsQuery = z.object({
  cursor: z.string().optional().describe('The pagination cursor value.'),
  ordering: z.enum(BACKFILL_ORDERINGS).default('-created_at').describe('Which field to use when ordering the results.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

export function presentBackfill(backfill: BackfillRecord): z.output<typeof BackfillResponse> {
  const total = backfill.total_runs;
  const finished = Math.min(backfill.finished_runs, total ?? Infinity);
  return {
    id: backfill.id,
    team_id: backfill.team_id,
    batch_export_id: backfill.batch_export_id,
    start_at: isoOrNull(backfill.start_at),
    end_at: isoOrNull(backfill.end_at),
    status: backfill.status,
    created_at: iso(backfill.created_at),
    finished_at: isoOrNull(backfill.finished_at),
    last_updated_at: iso(backfill.last_updated_at),
    total_records_count: backfill.total_records_count,
    adjusted_start_at: isoOrNull(backfill.adjusted_start_at),
    workflow_id: backfill.workflow_id,
    workflow_runs_count: backfill.workflow_runs_count,
    current_workflow_run_id: backfill.current_workflow_run_id,
    latest_error: backfill.latest_error,
    // Stored as Postgres wrote them into JSON (+00:00); returned like every other timestamp of the API.
    failed_intervals: backfill.failed_intervals.map((interval) => ({
      data_interval_start: interval.data_interval_start ? iso(new Date(interval.data_interval_start)) : null,
      data_interval_end: iso(new Date(interval.data_interval_end)),
      error: interval.error,
    })),
    progress: {
      total_runs: total,
      finished_runs: finished,
      // A backfill with nothing to run is done as soon as it knows it.
      progress: total === null ? null : total === 0 ? 1 : finished / total,
    },
  };
}

/** The team's limit of concurrent backfills is a 429, not bad input: the same request works later. */
async function limited<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TooManyBackfillsError)
      throw new ApiError(429, 'throttled', 'too_many_backfills', error.message);
    throw error;
  }
}

/**
 * Backfills the intervals an export missed while paused (unpause with {"backfill": true}). Called before the export
 * is unpaused; null when the pause missed no interval.
 */
export async function backfillPausedPeriod(
  deps: ServiceDependencies,
  batchExport: BatchExportRecord,
  period: { start: Date; end: Date },
): Promise<{ backfillId: string } | null> {
  const backfill = await limited(() => startPausedPeriodBackfill(deps, batchExport, period));
  return backfill ? { backfillId: backfill.id } : null;
}

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
      const backfill = await limited(() =>
        createBackfill(deps, { teamId: batchExport.team_id, batchExportId: batchExport.id, body }),
      );
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
        const input = { teamId: batchExport.team_id, batchExportId: batchExport.id, runId: request.params.id };
        const backfill = await limited(() => retryRun(deps, input));
        request.log.info(
          { batch_export_id: batchExport.id, run_id: input.runId, backfill_id: backfill.id },
          'Run retried',
        );
        return { backfill_id: backfill.id };
      },
    });
  };
}
