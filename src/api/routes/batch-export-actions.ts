import type { FastifyInstance } from 'fastify';
import { pauseBatchExport, unpauseBatchExport } from '../../service/batch-export-lifecycle';
import { requireBatchExport } from '../../service/batch-exports';
import { readLogs } from '../../service/logs';
import {
  listTestSteps,
  runSavedTestStep,
  runTestStep,
  SavedTestStepInput,
  TestStepInput,
} from '../../service/test-steps';
import { presentLog, presentOne } from '../presenters';
import {
  BatchExportResponse,
  IdParams,
  LogList,
  LogsQuery,
  TestStepResponse,
  TestStepsQuery,
  TestStepsResponse,
  UnpauseBody,
} from '../schemas';
import { validatedByService } from '../validation';
import { scopedParams, withErrors, zodApp, type RouteContext } from './common';

/** pause, unpause, logs, and the destination test steps. */
export function batchExportActionRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    const withId = scopedParams(scopeParams, IdParams.shape);
    const read = { scope: 'batch_export:read' } as const;
    const write = { scope: 'batch_export:write' } as const;

    app.post('/batch_exports/:id/pause', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Pause a batch export',
        description: 'Pauses its schedule, with a note naming who paused. Pausing a paused export changes nothing.',
        params: withId,
        response: withErrors({ 200: BatchExportResponse }),
      },
      handler: async (request) => {
        const paused = await pauseBatchExport(deps, request.access.teamIds, request.params.id, request.access.actor);
        request.log.info({ batch_export_id: paused.id }, 'Batch export paused');
        return presentOne(deps.pool, paused);
      },
    });

    app.post('/batch_exports/:id/unpause', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Unpause a batch export',
        description: 'With {"backfill": true}, also backfills the intervals missed while paused.',
        params: withId,
        body: UnpauseBody,
        response: withErrors({ 200: BatchExportResponse }),
      },
      handler: async (request) => {
        const { teamIds, actor } = request.access;
        const id = request.params.id;
        const unpaused = await unpauseBatchExport(deps, teamIds, id, actor, { backfill: request.body?.backfill });
        request.log.info({ batch_export_id: id }, 'Batch export unpaused');
        return presentOne(deps.pool, unpaused);
      },
    });

    app.get('/batch_exports/:id/logs', {
      config: read,
      schema: {
        tags: [tag],
        summary: "A batch export's log entries",
        description: 'Newest first, from its runs and backfills.',
        params: withId,
        querystring: LogsQuery,
        response: withErrors({ 200: LogList }),
      },
      handler: async (request) => {
        await requireBatchExport(deps.pool, request.params.id, request.access.teamIds);
        const entries = await readLogs(deps.pool, request.params.id, request.query);
        return { results: entries.map(presentLog) };
      },
    });

    app.get('/batch_exports/test', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'The test steps of a destination type',
        params: scopeParams,
        querystring: TestStepsQuery,
        response: withErrors({ 200: TestStepsResponse }),
      },
      handler: async (request) => ({ steps: listTestSteps(request.query.destination) }),
    });

    app.post('/batch_exports/run_test_step_new', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Run one test step against a destination config',
        description: 'Nothing is saved. A failing check is a 200 with result.status "Failed" and a message.',
        params: scopeParams,
        body: validatedByService(TestStepInput),
        response: withErrors({ 200: TestStepResponse }),
      },
      handler: async (request) => runTestStep(deps, request.body),
    });

    app.post('/batch_exports/:id/run_test_step', {
      config: write,
      schema: {
        tags: [tag],
        summary: "Run one test step against a batch export's destination",
        description: "The body's destination config fields, if any, are tried instead of the stored ones.",
        params: withId,
        body: validatedByService(SavedTestStepInput),
        response: withErrors({ 200: TestStepResponse }),
      },
      handler: async (request) => runSavedTestStep(deps, request.access.teamIds, request.params.id, request.body),
    });
  };
}
