import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProject } from '../../src/db/organizations';
import { finishRun, startRun } from '../../src/db/runs';
import { useApiTest } from './helpers';

const HOUR = 3_600_000;

/** The routes the web console reads beyond the reference's: the key's session, rows per export, backfill estimates. */
describe('console routes', () => {
  const api = useApiTest();
  const exports = () => `/api/projects/${api.teamId}/batch_exports`;

  /** A finished run of the interval ending `end`, as the workflow records it. */
  const finishedRun = async (batchExportId: string, end: Date, status: 'Completed' | 'Failed', records: number) => {
    const run = await startRun(api.stack.db.pool, {
      batchExportId,
      dataIntervalStart: new Date(end.getTime() - HOUR),
      dataIntervalEnd: end,
      workflowId: `${batchExportId}-${end.toISOString()}`,
      workflowRunId: randomUUID(),
      backfillId: null,
    });
    await finishRun(api.stack.db.pool, { runId: run.id, status, recordsCompleted: records });
  };

  it("GET /api/console/session tells the key's scopes and projects, never the key", async () => {
    const other = await createProject(api.stack.db.pool, api.organizationId, 'Other project');
    const session = await api.call('GET', '/api/console/session');
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({
      organization_id: api.organizationId,
      user_email: 'tester@example.com',
      can_write: true,
      projects: [
        { id: api.teamId, name: 'Test project' },
        { id: other.id, name: 'Other project' },
      ],
      temporal_ui: null,
    });
    expect(session.text).not.toContain(api.key);

    const readOnly = await api.call('GET', '/api/console/session', {
      key: await api.newKey({ scopes: ['batch_export:read'], projects: [other.id] }),
    });
    expect(readOnly.body).toMatchObject({ can_write: false, scopes: ['batch_export:read'] });
    expect(readOnly.body.projects).toEqual([{ id: other.id, name: 'Other project' }]);

    expect((await api.call('GET', '/api/console/session', { key: null })).status).toBe(401);
    expect((await api.call('GET', '/api/console/session', { key: 'pak_not-a-key' })).status).toBe(401);
  });

  it('GET .../batch_exports/stats sums rows and counts runs of the intervals that ended in the window', async () => {
    const batchExport = await api.createExport({ interval: 'hour' });
    const idle = await api.createExport({ name: 'idle export', interval: 'hour' });
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    await finishedRun(batchExport.id, new Date(now - HOUR), 'Completed', 120);
    await finishedRun(batchExport.id, new Date(now - 2 * HOUR), 'Completed', 80);
    await finishedRun(batchExport.id, new Date(now - 3 * HOUR), 'Failed', 0);
    // Outside the last 24 hours: not counted.
    await finishedRun(batchExport.id, new Date(now - 30 * HOUR), 'Completed', 1000);

    const stats = await api.call('GET', `${exports()}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body.results).toEqual([{ batch_export_id: batchExport.id, records: 200, completed: 2, failed: 1 }]);
    expect(stats.body.results.map((entry: { batch_export_id: string }) => entry.batch_export_id)).not.toContain(idle.id);

    const week = await api.call('GET', `${exports()}/stats?hours=48`);
    expect(week.body.results[0]).toMatchObject({ records: 1200, completed: 3 });
    const tooLong = await api.call('GET', `${exports()}/stats?hours=1000`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.attr).toBe('hours');
  });

  it('POST .../backfills/estimate counts the intervals and estimates rows from recent runs, starting nothing', async () => {
    const batchExport = await api.createExport({ interval: 'hour' });
    const path = `${exports()}/${batchExport.id}/backfills/estimate`;
    const end = new Date(Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR);
    const range = { start_at: new Date(end.getTime() - 6 * HOUR).toISOString(), end_at: end.toISOString() };

    const before = await api.call('POST', path, { body: range });
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      start_at: range.start_at,
      end_at: range.end_at,
      intervals: 6,
      records_per_interval: null,
      estimated_records: null,
      based_on_runs: 0,
    });

    await finishedRun(batchExport.id, new Date(end.getTime() + HOUR), 'Completed', 100);
    await finishedRun(batchExport.id, new Date(end.getTime() + 2 * HOUR), 'Completed', 50);
    // A read-only key may ask: nothing is started.
    const readKey = await api.newKey({ scopes: ['batch_export:read'] });
    const after = await api.call('POST', path, { body: range, key: readKey });
    expect(after.body).toMatchObject({ intervals: 6, records_per_interval: 75, estimated_records: 450, based_on_runs: 2 });
    const backfills = await api.call('GET', `${exports()}/${batchExport.id}/backfills`);
    expect(backfills.body.results).toEqual([]);

    // The same checks as creating the backfill, naming the field.
    const future = await api.call('POST', path, {
      body: { start_at: range.start_at, end_at: new Date(Date.now() + 2 * HOUR).toISOString() },
    });
    expect(future.status).toBe(400);
    expect(future.body.attr).toBe('end_at');
    const reversed = await api.call('POST', path, { body: { start_at: range.end_at, end_at: range.start_at } });
    expect(reversed.status).toBe(400);
    expect(reversed.body.attr).toBe('start_at');

    const unknown = await api.call('POST', `${exports()}/${randomUUID()}/backfills/estimate`, { body: range });
    expect(unknown.status).toBe(404);
  });

  it('serves the web console at /ui with the security headers, and its assets', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await api.app.inject({ method: 'GET', url: '/ui' })).body).toBe(page.body);
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await api.app.inject({ method: 'GET', url: script! });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
  });
});
