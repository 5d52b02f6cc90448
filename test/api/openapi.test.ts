import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { checkResponsesAgainstSchema } from './conformance';
import { useApiTest } from './helpers';

interface Operation {
  requestBody?: { required?: boolean; content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  responses: Record<string, { content?: unknown }>;
}

describe('the OpenAPI document tells the truth', () => {
  const api = useApiTest();
  let paths: Record<string, Record<string, Operation>>;
  const project = '/api/projects/{project_id}';
  const organization = '/api/organizations/{organization_id}';

  beforeAll(async () => {
    paths = (await api.call('GET', '/api/schema/')).body.paths;
  });

  it('documents DELETE as a 204 without a body, and sends none', async () => {
    for (const scope of [project, organization]) {
      expect(paths[`${scope}/batch_exports/{id}`]!.delete!.responses['204']).toEqual({
        description: 'No response body',
      });
    }
    const created = await api.createExport();
    const deleted = await api.call('DELETE', `/api/projects/${api.teamId}/batch_exports/${created.id}`);
    expect(deleted).toMatchObject({ status: 204, text: '' });
  });

  it('documents the unpause body as optional, and unpauses without one', async () => {
    expect(paths[`${project}/batch_exports/{id}/unpause`]!.post!.requestBody!.required).toBe(false);
    expect(paths[`${project}/batch_exports`]!.post!.requestBody!.required).toBe(true);
    const created = await api.createExport({ paused: true });
    const unpaused = await api.call('POST', `/api/projects/${api.teamId}/batch_exports/${created.id}/unpause`);
    expect(unpaused.status, unpaused.text).toBe(200);
    expect(unpaused.body.paused).toBe(false);
  });

  it('documents team_id on creates under an organization, where a key with several projects needs it', async () => {
    const body = (scope: string) =>
      paths[`${scope}/batch_exports`]!.post!.requestBody!.content['application/json']!.schema.properties!;
    expect(body(organization)).toHaveProperty('team_id');
    expect(body(project)).not.toHaveProperty('team_id');
  });

  it('flags a response whose status or body the document does not describe', async () => {
    const app = await buildServer({ deps: api.stack.services });
    const conformance = checkResponsesAgainstSchema(app);
    app.get('/api/conformance-probe', {
      schema: { response: { 200: z.object({ count: z.number() }) } },
      handler: async (request, reply) => {
        if (request.query && (request.query as { teapot?: string }).teapot) return reply.code(418 as 200).send();
        // Sent past the route's serializer, as a handler bug would.
        return reply.serializer(JSON.stringify).send({ count: 'many' });
      },
    });
    try {
      await app.inject({ method: 'GET', url: '/api/conformance-probe' });
      await app.inject({ method: 'GET', url: '/api/conformance-probe?teapot=1' });
      await app.inject({
        method: 'GET',
        url: `/api/projects/${api.teamId}/batch_exports`,
        headers: { authorization: `Bearer ${api.key}` },
      });
      expect(conformance.takeMismatches()).toEqual([
        expect.stringMatching(/^GET \/api\/conformance-probe -> 200: .*count.* must be number/),
        'GET /api/conformance-probe?teapot=1 -> 418: status 418 is not documented',
      ]);
    } finally {
      await app.close();
    }
  });
});
