import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { useApiTest } from './helpers';

describe('the API over real HTTP: health, OpenAPI document, docs page, logs without secrets', () => {
  const api = useApiTest();
  let server: FastifyInstance;
  let origin: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    server = await buildServer({ deps: api.stack.services, logger: pino({ level: 'debug' }, sink) });
    origin = await server.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = (path: string, key: string | null = api.key) =>
    fetch(`${origin}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('answers /health with 200 when Postgres and Temporal answer', async () => {
    const response = await get('/health', null);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', postgres: 'ok', temporal: 'ok' });
  });

  it('serves an OpenAPI document describing every route, and a docs page', async () => {
    const response = await get('/api/schema/', null);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toMatch(/^3\./);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const scope of ['/api/organizations/{organization_id}', '/api/projects/{project_id}']) {
      for (const route of [
        'GET /batch_exports',
        'POST /batch_exports',
        'GET /batch_exports/{id}',
        'PATCH /batch_exports/{id}',
        'PUT /batch_exports/{id}',
        'DELETE /batch_exports/{id}',
        'POST /batch_exports/{id}/pause',
        'POST /batch_exports/{id}/unpause',
        'GET /batch_exports/{id}/logs',
        'POST /batch_exports/{id}/backfill',
        'POST /batch_exports/{id}/run_test_step',
        'POST /batch_exports/run_test_step_new',
        'GET /batch_exports/test',
        'GET /batch_exports/{batch_export_id}/backfills',
        'POST /batch_exports/{batch_export_id}/backfills',
        'GET /batch_exports/{batch_export_id}/backfills/{id}',
        'POST /batch_exports/{batch_export_id}/backfills/{id}/cancel',
        'GET /batch_exports/{batch_export_id}/runs',
        'GET /batch_exports/{batch_export_id}/runs/{id}',
        'POST /batch_exports/{batch_export_id}/runs/{id}/cancel',
        'POST /batch_exports/{batch_export_id}/runs/{id}/retry',
        'GET /batch_exports/{batch_export_id}/runs/{id}/logs',
      ]) {
        const [method, path] = route.split(' ');
        expect(routes, `${method} ${scope}${path}`).toContain(`${method} ${scope}${path}`);
      }
    }
    const create = document.paths['/api/projects/{project_id}/batch_exports']!.post as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
    };
    expect(Object.keys(create.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['name', 'model', 'destination', 'interval', 'paused', 'start_at', 'end_at']),
    );
    // Each destination type documents its own config.
    expect(JSON.stringify(create.requestBody)).toContain('"bucket_name"');

    const docs = await get('/api/docs/', null);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await get('/api/nothing-here');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'invalid_request', code: 'not_found' });
  });

  it('never writes secrets or API keys to its logs', async () => {
    const base = `${origin}/api/projects/${api.teamId}/batch_exports`;
    const destination = await api.s3Destination({ aws_secret_access_key: 'very-secret-value-123' });
    const headers = { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' };
    const created = await fetch(base, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'logged', destination }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const bad = { ...destination, config: { ...destination.config, aws_secret_access_key: 12345678 } };
    const rejected = await fetch(`${base}/${id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ destination: bad }),
    });
    expect(rejected.status).toBe(400);
    const patched = await fetch(`${base}/${id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ destination: { config: { aws_secret_access_key: 'another-secret-456' } } }),
    });
    expect(patched.status).toBe(200);

    const logs = logLines.join('');
    expect(logs).toContain(id);
    for (const secret of ['very-secret-value-123', '12345678', 'another-secret-456', api.key]) {
      expect(logs).not.toContain(secret);
    }
  });
});
