import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listBatchExports } from '../../db/batch-exports';
import { DESTINATIONS } from '../../destinations';
import { deleteBatchExport } from '../../service/batch-export-lifecycle';
import { createBatchExport, requireBatchExport, updateBatchExport } from '../../service/batch-exports';
import { BatchExportInput } from '../../service/schemas';
import { ValidationError } from '../../errors';
import { offsetLinks } from '../pagination';
import { presentBatchExports, presentOne } from '../presenters';
import { BatchExportList, BatchExportResponse, IdParams, OffsetQuery } from '../schemas';
import { validatedByService } from '../validation';
import { NoContent, scopedParams, withErrors, zodApp, type RouteContext } from './common';

/** For the OpenAPI document: the batch export with each destination type's own config schema. */
const DocumentedInput = z.strictObject({
  ...BatchExportInput.shape,
  destination: z.union(
    Object.entries(DESTINATIONS).map(([type, definition]) =>
      z.strictObject({ type: z.literal(type), config: definition.configSchema }),
    ),
  ),
});
const CreateBody = validatedByService(DocumentedInput);
/** Under an organization, the body also says which project the export goes to. */
const OrganizationCreateBody = validatedByService(
  DocumentedInput.extend({
    team_id: z
      .number()
      .int()
      .optional()
      .describe(
        "The project the export belongs to; required when the key reaches more than one of the organization's projects.",
      ),
  }),
);
const UpdateBody = validatedByService(
  DocumentedInput.partial().describe('PATCH: the fields to change. PUT: the whole export.'),
);

/** List, create, retrieve, update and delete batch exports. */
export function batchExportRoutes({ deps, scopeParams, tag }: RouteContext) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    const withId = scopedParams(scopeParams, IdParams.shape);
    const read = { scope: 'batch_export:read' } as const;
    const write = { scope: 'batch_export:write' } as const;

    app.get('/batch_exports', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'List batch exports',
        params: scopeParams,
        querystring: OffsetQuery,
        response: withErrors({ 200: BatchExportList }),
      },
      handler: async (request) => {
        const { limit, offset } = request.query;
        const page = await listBatchExports(deps.pool, request.access.teamIds, { limit, offset });
        return {
          count: page.count,
          ...offsetLinks(request, { limit, offset, count: page.count }),
          results: await presentBatchExports(deps.pool, page.results),
        };
      },
    });

    app.post('/batch_exports', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Create a batch export',
        description:
          'Under an organization, `team_id` says which of its projects the export belongs to; it may be left out ' +
          'when the key reaches exactly one project.',
        params: scopeParams,
        body: 'organization_id' in scopeParams.shape ? OrganizationCreateBody : CreateBody,
        response: withErrors({ 201: BatchExportResponse }),
      },
      handler: async (request, reply) => {
        const { teamId, body } = targetTeam(request.access.teamIds, request.body);
        const created = await createBatchExport(deps, teamId, body, { actor: request.access.actor });
        request.log.info({ batch_export_id: created.id, team_id: teamId }, 'Batch export created');
        return reply.status(201).send(await presentOne(deps.pool, created));
      },
    });

    app.get('/batch_exports/:id', {
      config: read,
      schema: {
        tags: [tag],
        summary: 'Retrieve a batch export',
        params: withId,
        response: withErrors({ 200: BatchExportResponse }),
      },
      handler: async (request) => {
        return presentOne(deps.pool, await requireBatchExport(deps.pool, request.params.id, request.access.teamIds));
      },
    });

    for (const method of ['PATCH', 'PUT'] as const) {
      app.route({
        method,
        url: '/batch_exports/:id',
        config: write,
        schema: {
          tags: [tag],
          summary: method === 'PATCH' ? 'Update some fields of a batch export' : 'Replace a batch export',
          description:
            'Secret destination fields left out keep their stored values. The destination type cannot change. ' +
            'Read-only fields of a response (id, created_at, latest_runs, ...) are ignored.',
          params: withId,
          body: UpdateBody,
          response: withErrors({ 200: BatchExportResponse }),
        },
        handler: async (request) => {
          const { id } = request.params;
          const updated = await updateBatchExport(deps, request.access.teamIds, id, request.body, {
            replace: method === 'PUT',
            actor: request.access.actor,
          });
          request.log.info({ batch_export_id: id }, 'Batch export updated');
          return presentOne(deps.pool, updated);
        },
      });
    }

    app.delete('/batch_exports/:id', {
      config: write,
      schema: {
        tags: [tag],
        summary: 'Delete a batch export',
        description: 'Deletes its schedule and cancels its active runs and backfills.',
        params: withId,
        response: withErrors({ 204: NoContent }),
      },
      handler: async (request, reply) => {
        await deleteBatchExport(deps, request.access.teamIds, request.params.id, request.access.actor);
        request.log.info({ batch_export_id: request.params.id }, 'Batch export deleted');
        return reply.status(204).send(null);
      },
    });
  };
}

/**
 * The project a new export goes to. Under a project route that is the project; under an organization route, the
 * body's `team_id` (one of the projects the key reaches), or the only project there is.
 */
function targetTeam(teamIds: number[], body: unknown): { teamId: number; body: unknown } {
  if (teamIds.length === 1 && !(isRecord(body) && 'team_id' in body)) return { teamId: teamIds[0]!, body };
  if (!isRecord(body)) return { teamId: teamIds[0] ?? 0, body };
  const { team_id: teamId, ...rest } = body;
  if (teamId === undefined) {
    throw new ValidationError(
      `Say which project the export belongs to: team_id, one of ${teamIds.join(', ') || '(no projects)'}`,
      'team_id',
      'required',
    );
  }
  if (typeof teamId !== 'number' || !teamIds.includes(teamId)) {
    throw new ValidationError(`team_id must be one of this key's projects: ${teamIds.join(', ')}`, 'team_id');
  }
  return { teamId, body: rest };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
