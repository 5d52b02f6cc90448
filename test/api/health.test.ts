import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys';
import { freePort } from '../../src/dev/ports';
import { startLocalTemporal, type LocalTemporal } from '../../src/dev/temporal-server';
import { createBatchExport } from '../../src/service/batch-exports';
import { eventually } from '../helpers/backfills';
import { spawnApiProcess } from '../helpers/api-process';
import { createTeam } from '../helpers/fixtures';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startApiTest, type ApiTest } from './helpers';

describe('/health tells the truth', () => {
  let api: ApiTest;

  beforeAll(async () => {
    api = await startApiTest({ worker: true });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("reports the task queue's pollers and the age of its last completed run", async () => {
    const taskQueue = api.stack.config.temporal.taskQueue;
    const before = await api.call('GET', '/health');
    expect(before.body.task_queues[taskQueue]).toMatchObject({ last_completed_run_age_seconds: null });

    const { teamId } = await createTeam(api.stack.db.pool);
    const noop = await createBatchExport(api.stack.services, teamId, {
      name: 'health',
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });
    const { run } = await runInterval(api.stack, 'noop-export', intervalInput(noop.id, teamId, '2024-09-01T11:00:00Z'));
    expect(run.status).toBe('Completed');
    const checkedAt = Date.now();
    const after = await api.call('GET', '/health');

    expect(after.status).toBe(200);
    const queue = after.body.task_queues[taskQueue];
    expect(queue.workflow_pollers).toBeGreaterThan(0);
    const age = (checkedAt - run.finished_at!.getTime()) / 1000;
    expect(Math.abs(queue.last_completed_run_age_seconds - age)).toBeLessThanOrEqual(2);
  });
});

describe('npm run api with Temporal down', () => {
  let stack: TestStack;
  let temporal: LocalTemporal | null = null;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(async () => {
    await temporal?.env.teardown();
    await stack?.stop();
  });

  it('starts, answers reads, refuses changes with 503, and reconnects once Temporal is up', async () => {
    const { organizationId, teamId } = await createTeam(stack.db.pool);
    const { key } = await createApiKey(stack.db.pool, {
      organizationId,
      userEmail: 'ops@example.com',
      label: 'down',
      scopes: ['batch_export:read', 'batch_export:write'],
      scopedProjectIds: null,
    });
    const temporalPort = await freePort();
    const port = await freePort();
    const api = spawnApiProcess({
      DATABASE_URL: stack.db.url,
      // Nothing listens there yet.
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      ENCRYPTION_KEY: stack.config.encryptionKey.toString('base64'),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
    });
    const url = (route: string) => `http://127.0.0.1:${port}${route}`;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    try {
      expect(await api.listening()).toContain('API listening');

      const list = await fetch(url(`/api/projects/${teamId}/batch_exports`), { headers });
      expect(list.status).toBe(200);
      const body = JSON.stringify({ name: 'while down', destination: { type: 'NoOp', config: {} } });
      const create = await fetch(url(`/api/projects/${teamId}/batch_exports`), { method: 'POST', headers, body });
      expect(create.status).toBe(503);
      const health = await fetch(url('/health'));
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ postgres: 'ok', temporal: expect.stringMatching(/^unavailable/) });

      temporal = await startLocalTemporal({ port: temporalPort });
      const healthy = await eventually(
        async () => (await fetch(url('/health'))).status,
        (status) => status === 200,
      );
      expect(healthy).toBe(200);
      const created = await fetch(url(`/api/projects/${teamId}/batch_exports`), { method: 'POST', headers, body });
      expect(created.status).toBe(201);
    } finally {
      api.child.kill('SIGTERM');
    }
    expect(await api.exited, api.output()).toBe(0);
  });
});
