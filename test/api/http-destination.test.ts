import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver';
import { QUICK_RETRIES } from '../helpers/postgres-exports';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { LOOPBACK_NETWORKS } from '../helpers/stack';
import { useApiTest } from './helpers';

const TOKEN = 'phc_write-only-token-value';

describe('HTTP destination through the API', () => {
  const api = useApiTest();
  let receiver: HttpReceiver;
  let exports: string;

  beforeAll(async () => {
    exports = `/api/projects/${api.teamId}/batch_exports`;
  });
  beforeEach(async () => {
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    await receiver?.close();
  });

  const http = (config: Record<string, unknown> = {}) => ({
    type: 'HTTP',
    config: { url: receiver.url, token: TOKEN, ...config },
  });
  const runStep = (destination: unknown) =>
    api.call('POST', `${exports}/run_test_step_new`, { body: { name: 'draft', step: 0, destination } });

  it('is documented in the OpenAPI document with its config', async () => {
    const schema = await api.call('GET', '/api/schema/');
    // The destination variant whose type is HTTP, wherever the document puts it.
    const variants: Array<{ properties: { config: { properties: Record<string, unknown> } } }> = [];
    const visit = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const type = (node as { properties?: { type?: { const?: unknown; enum?: unknown[] } } }).properties?.type;
      if (type?.const === 'HTTP' || (type?.enum?.length === 1 && type.enum[0] === 'HTTP')) variants.push(node as never);
      Object.values(node).forEach(visit);
    };
    visit(schema.body);
    expect(variants.length).toBeGreaterThan(0);
    expect(Object.keys(variants[0]!.properties.config.properties).sort()).toEqual(
      [
        'compression',
        'exclude_events',
        'format',
        'headers',
        'include_events',
        'max_batch_bytes',
        'max_batch_rows',
        'timeout_seconds',
        'token',
        'url',
      ].sort(),
    );
  });

  it('lists its one test step', async () => {
    const response = await api.call('GET', `${exports}/test?destination=HTTP`);
    expect(response.status).toBe(200);
    expect(response.body.steps.map((step: { name: string }) => step.name)).toEqual(['Reach the endpoint']);
  });

  it('probes the endpoint with an empty batch the receiver can recognise', async () => {
    const response = await runStep(http({ compression: 'gzip', headers: { 'X-Team': 'analytics' } }));
    expect(response.status).toBe(200);
    expect(response.body.result).toEqual({ status: 'Passed', message: null });
    expect(receiver.requests).toHaveLength(1);
    const [probe] = receiver.requests;
    expect(probe!.headers).toMatchObject({ 'x-batch-export-test': 'true', 'x-team': 'analytics' });
    expect(probe!.key).toMatch(/^test:[0-9a-f-]{36}$/);
    expect(JSON.parse(probe!.body)).toEqual({ api_key: TOKEN, historical_migration: true, batch: [] });
  });

  it('fails the step on 401 with a message naming the token, which it does not repeat', async () => {
    receiver.token = 'another-token';
    const response = await runStep(http());
    expect(response.body.result.status).toBe('Failed');
    expect(response.body.result.message).toMatch(/answered 401: .*check token/);
    expect(response.text).not.toContain(TOKEN);
  });

  it('fails the step at once on a 503, without waiting out retries', async () => {
    receiver.answerNext({ status: 503, headers: { 'retry-after': '120' }, body: 'down for maintenance' });
    const response = await runStep(http({ format: 'JSONLines' }));
    expect(response.body.result.status).toBe('Failed');
    expect(response.body.result.message).toMatch(/answered 503: "down for maintenance"/);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('keeps the token write-only and asks for it again when the url changes', async () => {
    const created = await api.call('POST', exports, { body: { name: 'http', destination: http() } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.destination.config).not.toHaveProperty('token');
    expect(created.text).not.toContain(TOKEN);
    const moved = await api.call('PATCH', `${exports}/${created.body.id}`, {
      body: { destination: { type: 'HTTP', config: { url: 'http://127.0.0.2:9/batch/' } } },
    });
    expect(moved.status, moved.text).toBe(400);
    expect(moved.body).toMatchObject({ attr: 'destination.config.token', code: 'secret_required' });
    const resized = await api.call('PATCH', `${exports}/${created.body.id}`, {
      body: { destination: { type: 'HTTP', config: { url: receiver.url, max_batch_rows: 50 } } },
    });
    expect(resized.status, resized.text).toBe(200);
    expect(resized.body.destination.config).toMatchObject({ max_batch_rows: 50, format: 'capture' });
  });

  it('answers 400 naming the field for bad settings', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: 'ftp://example.com/' }, 'destination.config.url'],
      [{ url: 'https://user:secret@example.com/' }, 'destination.config.url'],
      [{ headers: { Authorization: 'Bearer x' } }, 'destination.config.headers.Authorization'],
      [{ headers: { 'Idempotency-Key': 'x' } }, 'destination.config.headers.Idempotency-Key'],
      [{ headers: { 'X-Evil': 'a\r\nHost: b' } }, 'destination.config.headers.X-Evil'],
      [{ max_batch_rows: 0 }, 'destination.config.max_batch_rows'],
      [{ compression: 'brotli' }, 'destination.config.compression'],
      [{ format: 'xml' }, 'destination.config.format'],
    ];
    for (const [config, attr] of cases) {
      const response = await api.call('POST', exports, { body: { name: 'bad', destination: http(config) } });
      expect(response.status, JSON.stringify(config)).toBe(400);
      expect(response.body.attr, JSON.stringify(config)).toBe(attr);
      expect(response.text).not.toContain('secret@');
    }
    expect(receiver.connections()).toBe(0);
  });
});

describe('HTTP destination and the network policy (default: public addresses only)', () => {
  const api = useApiTest({ worker: true, env: { DESTINATION_ALLOWED_NETWORKS: '' } });
  let receiver: HttpReceiver;
  let exports: string;

  beforeAll(async () => {
    exports = `/api/projects/${api.teamId}/batch_exports`;
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  const http = (url: string) => ({ type: 'HTTP', config: { url, token: TOKEN } });

  it('refuses cloud metadata, loopback and private addresses on create and test step, dialling nothing', async () => {
    const refusals: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data/', /url "http:\/\/169\.254\.169\.254\/.*" is a link-local address/],
      [`http://127.0.0.1:${receiver.port}/batch/`, /is a loopback address/],
      [`http://localhost:${receiver.port}/batch/`, /resolves to a loopback address/],
      [`http://[::ffff:127.0.0.1]:${receiver.port}/`, /is a loopback address/],
      ['https://10.0.0.8/batch/', /is a private address/],
    ];
    for (const [url, message] of refusals) {
      const created = await api.call('POST', exports, { body: { name: 'refused', destination: http(url) } });
      const stepped = await api.call('POST', `${exports}/run_test_step_new`, {
        body: { step: 0, destination: http(url) },
      });
      for (const response of [created, stepped]) {
        expect(response.status, `${url}: ${response.text}`).toBe(400);
        expect(response.body).toMatchObject({ code: 'destination_not_allowed', attr: 'destination.config.url' });
        expect(response.body.detail).toMatch(message);
      }
    }
    expect(receiver.connections()).toBe(0);
  });

  it('fails a run at once when the url names a host that resolves to loopback, without connecting', async () => {
    const { teamId } = await createTeam(api.stack.db.pool);
    await insertEvents(api.stack.db.pool, [makeEvent(teamId, '2024-08-01T10:30:00Z')]);
    // Saved while loopback was allowed: a policy narrowed after the save.
    const lenient = {
      ...api.stack.services,
      config: {
        ...api.stack.config,
        destinationAccess: { allowedNetworks: LOOPBACK_NETWORKS.split(','), s3WorkerCredentials: false },
      },
    };
    const saved = await createBatchExport(lenient, teamId, {
      name: 'saved when allowed',
      destination: http(`http://localhost:${receiver.port}/batch/`),
    });
    const input = intervalInput(saved.id, teamId, '2024-08-01T11:00:00Z', QUICK_RETRIES);
    const { run } = await runInterval(api.stack, 'batch-export', input);
    expect(run.status).toBe('Failed');
    expect(run.latest_error).toMatch(/url "http:\/\/localhost:\d+\/batch\/" resolves to a loopback address/);
    expect(receiver.connections()).toBe(0);
  });
});
