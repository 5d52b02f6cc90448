import { Writable } from 'node:stream';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { PUBLIC_URL, useApiTest } from './helpers';

describe('API: no request can hold it, flood it, or leak through caches, links and logs', () => {
  const api = useApiTest();
  let base: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  it('refuses a backfill from year 0 with a 400 naming the limit, while /health keeps answering', async () => {
    const hourly = await api.createExport({ paused: true });
    const daily = await api.createExport({ paused: true, interval: 'day' });
    const [hourlyBackfill, health, dailyBackfill] = await Promise.all([
      api.call('POST', `${base}/${hourly.id}/backfills`, {
        body: { start_at: '0000-01-01T00:00:00Z', end_at: '2024-01-01T00:00:00Z' },
      }),
      api.call('GET', '/health'),
      api.call('POST', `${base}/${daily.id}/backfills`, { body: { start_at: '0000-01-01', end_at: '2024-01-01' } }),
    ]);
    expect(health.status, health.text).toBe(200);
    for (const [response, count] of [
      [hourlyBackfill, '17,742,024'],
      [dailyBackfill, '739,251'],
    ] as const) {
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({ attr: 'start_at', code: 'too_many_intervals' });
      expect(response.body.detail).toContain(`This backfill covers ${count} intervals`);
      expect(response.body.detail).toContain('at most 100,000 are allowed (BACKFILL_MAX_INTERVALS)');
    }
    const listed = await api.call('GET', `${base}/${hourly.id}/backfills`);
    expect(listed.body.results).toEqual([]);
  });

  it('answers 429 with Retry-After once a key used up its requests, without touching other keys or /health', async () => {
    const app = await buildServer({ deps: api.stack.services, http: { rateLimitPerMinute: 3 } });
    try {
      const otherKey = await api.newKey();
      const get = (key: string, url = base) =>
        app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) expect((await get(api.key)).statusCode).toBe(200);
      const limited = await get(api.key);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json()).toMatchObject({
        code: 'rate_limited',
        detail: expect.stringContaining('at most 3 per minute'),
      });
      expect((await get(otherKey)).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('cuts off a request whose body never arrives with a 408', async () => {
    const app = await buildServer({ deps: api.stack.services, http: { requestTimeoutMs: 300 } });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      const answer = new Promise<string>((resolve) => {
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('close', () => resolve(received));
      });
      socket.write(
        `POST ${base} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${api.key}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name": ',
      );
      expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await app.close();
    }
  });

  it('sends security headers, and no-store on authenticated responses', async () => {
    const list = await api.app.inject({ method: 'GET', url: base, headers: { authorization: `Bearer ${api.key}` } });
    expect(list.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    expect(list.headers['x-frame-options']).toBeDefined();
    const unauthorized = await api.app.inject({ method: 'GET', url: base });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['cache-control']).toBe('no-store');
    const docs = await api.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    expect(docs.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('builds pagination links from the public URL, or relative ones, never from the Host header', async () => {
    await api.createExport();
    await api.createExport();
    const headers = {
      authorization: `Bearer ${api.key}`,
      host: 'attacker.example',
      'x-forwarded-host': 'attacker.example',
    };
    const underPublicUrl = await api.app.inject({ method: 'GET', url: `${base}?limit=1`, headers });
    expect(underPublicUrl.json().next).toBe(`${PUBLIC_URL}${base}?limit=1&offset=1`);

    const app = await buildServer({ deps: api.stack.services });
    try {
      const relative = await app.inject({ method: 'GET', url: `${base}?limit=1`, headers });
      expect(relative.json().next).toBe(`${base}?limit=1&offset=1`);
    } finally {
      await app.close();
    }
  });

  it('logs request URLs without the value of a key sent as a query parameter', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const app = await buildServer({ deps: api.stack.services, logger });
    try {
      const response = await app.inject({ method: 'GET', url: `${base}?personal_api_key=${api.key}&limit=5` });
      expect(response.statusCode).toBe(401);
      const log = lines.join('');
      expect(log).toContain('personal_api_key=%5BREDACTED%5D&limit=5');
      expect(log).not.toContain(api.key);
    } finally {
      await app.close();
    }
  });

  it('answers 405 with Allow for a method a path does not support, 404 for a path that does not exist', async () => {
    for (const method of ['TRACE', 'DELETE', 'PUT'] as const) {
      const response = await api.call(method, base);
      expect(response.status, `${method} ${response.text}`).toBe(405);
      expect(response.body).toMatchObject({ code: 'method_not_allowed' });
    }
    const put = await api.app.inject({ method: 'PUT', url: `${base}/` });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    expect((await api.call('GET', `${base}/nothing/here`)).status).toBe(404);
  });
});
