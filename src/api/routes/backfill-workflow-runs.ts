import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WORKFLOW_RUN_ORDERINGS, type BackfillWorkflowRunRecord } from '../../db/backfill-workflow-runs';
import { listBackfillWorkflowRuns } from '../../service/backfills';
import { requireBatchExport } from '../../service/batch-exports';
import { STATUSES } from '../../statuses';
import { cursorLinks, decodeCursor } from '../pagination';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/** A backfill's Temporal workflow runs (it continues as new every so many intervals): a cursor-paginated list. */

const Timestamp = z.iso.datetime();

const WorkflowRunsParams = z.object({
  batch_export_id: z.guid().describe('The BatchExport the backfill belongs to.'),
  id: z.guid().describe('A UUID string identifying this batch export backfill.'),
});

const WorkflowRunsQuery = z.object({
  cursor: z.string().optional().describe('The pagination cursor value.'),
  ordering: z
    .enum(WORKFLOW_RUN_ORDERINGS)
    .default('started_at')
    .describe('Which field to use when ordering the results; the default is the order they ran in.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const BackfillWorkflowRunResponse = z.object({
  workflow_id: z.string().nullable().describe("The backfill's Temporal workflow id, shared by its workflow runs."),
  workflow_run_id: z.string().describe("Temporal's run id of this workflow run."),
  status: z
    .enum(STATUSES)
    .describe(
      'Running; ContinuedAsNew when it handed over to the next workflow run; else the final status of the backfill ' +
        '(Completed, Failed, Cancelled, or Terminated / TimedOut when found closed that way in Temporal).',
    ),
  started_at: Timestamp,
  finished_at: Timestamp.nullable(),
  data_interval_start: Timestamp.nullable().describe('The start of the first interval this workflow run took on.'),
  data_interval_end: Timestamp.nullable().describe(
    'The end of the last interval it took on. A workflow run continued as new ends where the next one starts.',
  ),
  runs_completed: z.number().int().describe('Intervals it exported.'),
  runs_failed: z.number().int().describe('Intervals whose run failed or was cancelled on its own.'),
  runs_skipped: z
    .number()
    .int()
    .describe('Intervals it did not run: another run had exported them or was exporting them.'),
  latest_error: z.string().nullable(),
});

const BackfillWorkflowRunList = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(BackfillWorkflowRunResponse),
});

const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

function presentWorkflowRun(
  workflowId: string | null,
  run: BackfillWorkflowRunRecord,
): z.output<typeof BackfillWorkflowRunResponse> {
  return {
    workflow_id: workflowId,
    workflow_run_id: run.workflow_run_id,
    status: run.status,
    started_at: run.started_at.toISOString(),
    finished_at: isoOrNull(run.finished_at),
    data_interval_start: isoOrNull(run.data_interval_start),
    data_interval_end: isoOrNull(run.data_interval_end),
    runs_completed: run.runs_completed,
    runs_failed: run.runs_failed,
    runs_skipped: run.runs_skipped,
    latest_error: run.latest_error,
  };
}

export function backfillWorkflowRunRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);

    app.get('/batch_exports/:batch_export_id/backfills/:id/workflow_runs', {
      config: { scope: 'batch_export:read' },
      schema: {
        tags: [tag],
        summary: "List a backfill's workflow runs",
        description:
          'A long backfill continues as new every so many intervals: one Temporal workflow run per segment, each ' +
          'with the intervals it took on and what became of them. Oldest first.',
        params: scopedParams(scopeParams, WorkflowRunsParams.shape),
        querystring: WorkflowRunsQuery,
        response: withErrors({ 200: BackfillWorkflowRunList }),
      },
      handler: async (request) => {
        const batchExport = await requireBatchExport(deps.pool, request.params.batch_export_id, request.access.teamIds);
        const { ordering, limit } = request.query;
        const cursor = decodeCursor(request.query.cursor, ordering);
        const { backfill, page } = await listBackfillWorkflowRuns(deps, {
          teamId: batchExport.team_id,
          batchExportId: batchExport.id,
          backfillId: request.params.id,
          ordering,
          direction: cursor?.direction ?? 'next',
          position: cursor,
          limit,
        });
        return {
          ...cursorLinks(request, page, ordering, cursor),
          results: page.rows.map((run) => presentWorkflowRun(backfill.workflow_id, run)),
        };
      },
    });
  };
}
