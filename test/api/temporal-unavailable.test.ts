import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { describeSchedule, useApiTest } from './helpers';

describe('batch exports API when Temporal is unreachable', () => {
  const api = useApiTest();
  let down: FastifyInstance;
  let base: string;
  let existing: { id: string };

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    existing = (await api.call('POST', base, { body: { name: 'existing', destination: await api.s3Destination() } }))
      .body;
    // Nothing listens on port 1: every Temporal call fails, as when the cluster is down.
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    down = await buildServer({ deps: { ...api.stack.services, temporal, temporalDeadlineMs: 1500 } });
  });
  afterAll(async () => {
    await down?.close();
    // The dead connection stays open: the SDK's retry timers outlive a call's deadline and would hit a closed
    // channel. The test process ends anyway.
  });

  async function callDown(method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: object) {
    const response = await down.inject({
      method,
      url,
      headers: { authorization: `Bearer ${api.key}` },
      ...(body ? { payload: body } : {}),
    });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  }

  it('fails a create with a clear 503 and stores nothing', async () => {
    const before = (await api.stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports')).rows[0].n;
    const response = await callDown('POST', base, { name: 'no temporal', destination: await api.s3Destination() });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ type: 'server_error', code: 'temporal_unavailable' });
    expect(response.body.detail).toMatch(/Temporal is unavailable, so nothing was changed/);
    const after = (await api.stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports')).rows[0].n;
    expect(after).toBe(before);
  });

  it('fails pause, update and delete with 503 and leaves the export and its schedule as they were', async () => {
    expect((await callDown('POST', `${base}/${existing.id}/pause`)).status).toBe(503);
    expect((await callDown('PATCH', `${base}/${existing.id}`, { interval: 'day' })).status).toBe(503);
    expect((await callDown('DELETE', `${base}/${existing.id}`)).status).toBe(503);

    const stored = await api.call('GET', `${base}/${existing.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ paused: false, interval: 'hour', last_paused_at: null });
    const schedule = await describeSchedule(api, existing.id);
    expect(schedule.state.paused).toBe(false);
    expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
  });

  it('reports Temporal as unavailable on /health', async () => {
    const response = await down.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'unavailable', postgres: 'ok' });
    expect(response.json().temporal).toMatch(/^unavailable/);
  });
});
