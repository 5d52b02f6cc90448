import { beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { eventually } from '../helpers/backfills';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { useApiTest, type ApiResponse } from './helpers';

describe('backfills API', () => {
  const api = useApiTest({ worker: true });
  let base: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  /** A paused export (its schedule never fires during the test). */
  async function createExport(body: Record<string, unknown> = {}): Promise<{ id: string }> {
    const response = await api.call('POST', base, {
      body: { name: 'backfilled', destination: await api.s3Destination(), paused: true, ...body },
    });
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  async function finished(exportId: string, backfillId: string): Promise<ApiResponse> {
    return eventually(
      () => api.call('GET', `${base}/${exportId}/backfills/${backfillId}`),
      (response) => !['Starting', 'Running'].includes(response.body.status),
    );
  }

  it('creates a backfill (201 with its id), reports its progress, lists it and tags its runs', async () => {
    const batchExport = await createExport();
    await insertEvents(api.stack.db.pool, [
      makeEvent(api.teamId, '2024-06-01T00:05:00Z'),
      makeEvent(api.teamId, '2024-06-01T05:55:00Z'),
    ]);

    const created = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2024-06-01T00:00:00Z', end_at: '2024-06-01T06:00:00Z' },
    });
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body)).toEqual(['backfill_id']);
    const done = await finished(batchExport.id, created.body.backfill_id);

    expect(done.body).toMatchObject({
      id: created.body.backfill_id,
      status: 'Completed',
      start_at: '2024-06-01T00:00:00.000Z',
      end_at: '2024-06-01T06:00:00.000Z',
      adjusted_start_at: '2024-06-01T00:00:00.000Z',
      total_records_count: 2,
      progress: { total_runs: 6, finished_runs: 6, progress: 1 },
      workflow_id: `${batchExport.id}-Backfill-2024-06-01T00:00:00Z-2024-06-01T06:00:00Z`,
    });
    const list = await api.call('GET', `${base}/${batchExport.id}/backfills`);
    expect(list.status).toBe(200);
    expect(list.body.results.map((backfill: { id: string }) => backfill.id)).toEqual([created.body.backfill_id]);
    const runs = await api.call('GET', `${base}/${batchExport.id}/runs`);
    expect(runs.body.results).toHaveLength(6);
    for (const run of runs.body.results)
      expect(run).toMatchObject({ status: 'Completed', backfill_id: created.body.backfill_id });
  });

  it('pages through backfills with a cursor, newest first, and back', async () => {
    const batchExport = await createExport();
    const ids: string[] = [];
    for (const day of ['01', '02', '03']) {
      const response = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
        body: { start_at: `2021-01-${day}T00:00:00Z`, end_at: `2021-01-${day}T01:00:00Z` },
      });
      ids.unshift(response.body.backfill_id);
    }

    const first = await api.call('GET', `${base}/${batchExport.id}/backfills?limit=2`);
    expect(first.body.results.map((backfill: { id: string }) => backfill.id)).toEqual(ids.slice(0, 2));
    expect(first.body.previous).toBeNull();
    const next = new URL(first.body.next);
    const second = await api.call('GET', `${next.pathname}${next.search}`);
    expect(second.body.results.map((backfill: { id: string }) => backfill.id)).toEqual(ids.slice(2));
    expect(second.body.next).toBeNull();
    const previous = new URL(second.body.previous);
    const back = await api.call('GET', `${previous.pathname}${previous.search}`);
    expect(back.body.results.map((backfill: { id: string }) => backfill.id)).toEqual(ids.slice(0, 2));
    const oldestFirst = await api.call('GET', `${base}/${batchExport.id}/backfills?ordering=created_at`);
    expect(oldestFirst.body.results.map((backfill: { id: string }) => backfill.id)).toEqual([...ids].reverse());
  });

  it.each([
    [{ start_at: '2024-01-01T00:00:00Z' }, 'end_at', 'open-ended backfills are not supported for S3 destinations'],
    [
      { start_at: '2024-01-02T00:00:00Z', end_at: '2024-01-01T00:00:00Z' },
      'start_at',
      'start_at must be before end_at',
    ],
    [{ start_at: '2024-01-01T00:00:00', end_at: '2024-01-02T00:00:00Z' }, 'start_at', 'with a timezone'],
    [{ start_at: '2024-01-01T00:00:00Z', end_at: '2999-01-01T00:00:00Z' }, 'end_at', 'is in the future'],
    [{ start_at: '2024-01-01T00:10:00Z', end_at: '2024-01-01T00:50:00Z' }, 'end_at', 'holds no complete interval'],
  ])('refuses an hourly backfill with %j: 400 naming %s', async (body, attr, detail) => {
    const batchExport = await createExport();
    const response = await api.call('POST', `${base}/${batchExport.id}/backfills`, { body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: 'validation_error', attr });
    expect(response.body.detail).toContain(detail);
  });

  it('wants dates for day and week exports, and weeks that start on offset_day', async () => {
    const daily = await createExport({ interval: 'day', timezone: 'America/New_York' });
    const withTime = await api.call('POST', `${base}/${daily.id}/backfills`, {
      body: { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-05' },
    });
    expect(withTime.status).toBe(400);
    expect(withTime.body).toMatchObject({
      attr: 'start_at',
      detail: expect.stringContaining('must be a date (YYYY-MM-DD)'),
    });

    const weekly = await createExport({ interval: 'week', offset_day: 1 });
    const tuesday = await api.call('POST', `${base}/${weekly.id}/backfills`, {
      body: { start_at: '2024-01-02', end_at: '2024-01-15' },
    });
    expect(tuesday.status).toBe(400);
    expect(tuesday.body.detail).toContain('start_at must be a Monday');
  });

  it('refuses an overlapping backfill (400), cancels one (200, Cancelled) and then accepts the range again', async () => {
    const batchExport = await createExport();
    // Data in the first hour only: the first backfill has 200 intervals to work through while the test talks to it.
    await insertEvents(api.stack.db.pool, [makeEvent(api.teamId, '2023-03-01T00:10:00Z')]);
    const body = { start_at: '2023-03-01T00:00:00Z', end_at: '2023-03-09T08:00:00Z' };
    const first = await api.call('POST', `${base}/${batchExport.id}/backfills`, { body });
    expect(first.status).toBe(201);
    const running = await eventually(
      () => api.call('GET', `${base}/${batchExport.id}/backfills/${first.body.backfill_id}`),
      (response) => response.body.progress.finished_runs > 0,
    );
    expect(running.body.status).toBe('Running');
    expect(running.body.progress.total_runs).toBe(200);
    expect(running.body.progress.progress).toBeGreaterThan(0);
    expect(running.body.progress.progress).toBeLessThan(1);

    const overlapping = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2023-03-05T00:00:00Z', end_at: '2023-03-06T00:00:00Z' },
    });
    expect(overlapping.status).toBe(400);
    expect(overlapping.body).toMatchObject({ code: 'overlapping_backfill', attr: 'start_at' });
    expect(overlapping.body.detail).toContain(first.body.backfill_id);

    const cancel = await api.call('POST', `${base}/${batchExport.id}/backfills/${first.body.backfill_id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: 'Cancelled', latest_error: 'Cancelled by request' });
    const again = await api.call('POST', `${base}/${batchExport.id}/backfills/${first.body.backfill_id}/cancel`);
    expect(again.status).toBe(400);
    expect(again.body.detail).toContain('already Cancelled');

    const afterCancel = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2023-03-05T00:00:00Z', end_at: '2023-03-05T01:00:00Z' },
    });
    expect(afterCancel.status, afterCancel.text).toBe(201);
    await finished(batchExport.id, afterCancel.body.backfill_id);
  });

  it("answers 429 beyond the team's limit of active backfills", async () => {
    const stack = api.stack;
    const app = await buildServer({
      deps: {
        ...stack.services,
        config: { ...stack.config, backfills: { ...stack.config.backfills, maxActivePerTeam: 0 } },
      },
    });
    try {
      const batchExport = await createExport();
      const response = await app.inject({
        method: 'POST',
        url: `${base}/${batchExport.id}/backfills`,
        headers: { authorization: `Bearer ${api.key}` },
        payload: { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-01T01:00:00Z' },
      });
      expect(response.statusCode).toBe(429);
      expect(response.json()).toMatchObject({ code: 'too_many_backfills' });
    } finally {
      await app.close();
    }
  });

  it('retries a run as a one-interval backfill that exports the interval again', async () => {
    const batchExport = await createExport();
    await insertEvents(api.stack.db.pool, [makeEvent(api.teamId, '2024-07-01T10:30:00Z')]);
    const first = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2024-07-01T10:00:00Z', end_at: '2024-07-01T11:00:00Z' },
    });
    await finished(batchExport.id, first.body.backfill_id);
    const [run] = (await api.call('GET', `${base}/${batchExport.id}/runs`)).body.results;

    const retry = await api.call('POST', `${base}/${batchExport.id}/runs/${run.id}/retry`);
    expect(retry.status, retry.text).toBe(200);
    const done = await finished(batchExport.id, retry.body.backfill_id);

    expect(done.body).toMatchObject({ status: 'Completed', total_records_count: 1, progress: { total_runs: 1 } });
    const runs = (await api.call('GET', `${base}/${batchExport.id}/runs`)).body.results;
    expect(runs.map((r: { backfill_id: string }) => r.backfill_id)).toEqual([
      retry.body.backfill_id,
      first.body.backfill_id,
    ]);
    expect(runs.every((r: { data_interval_end: string }) => r.data_interval_end === '2024-07-01T11:00:00.000Z')).toBe(
      true,
    );
    const unknown = await api.call('POST', `${base}/${batchExport.id}/runs/${crypto.randomUUID()}/retry`);
    expect(unknown.status).toBe(404);
  });

  it('still takes the deprecated POST .../backfill', async () => {
    const batchExport = await createExport();
    const response = await api.call('POST', `${base}/${batchExport.id}/backfill`, {
      body: { start_at: '2022-01-01T00:00:00Z', end_at: '2022-01-01T02:00:00Z' },
    });
    expect(response.status, response.text).toBe(200);
    expect((await finished(batchExport.id, response.body.backfill_id)).body.status).toBe('Completed');
  });

  it('backfills the paused period when unpaused with {"backfill": true}', async () => {
    const batchExport = await createExport({ paused: false });
    expect((await api.call('POST', `${base}/${batchExport.id}/pause`)).status).toBe(200);
    // As if it had been paused three and a half hours ago, with an event in each hour it missed.
    const pausedAt = new Date(Date.now() - 3.5 * 3_600_000);
    await api.stack.db.pool.query('UPDATE batch_exports SET last_paused_at = $2 WHERE id = $1', [
      batchExport.id,
      pausedAt,
    ]);
    const lastHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const missed = [1, 2, 3].map((hoursAgo) =>
      makeEvent(api.teamId, new Date(lastHour - hoursAgo * 3_600_000 + 60_000).toISOString()),
    );
    await insertEvents(api.stack.db.pool, missed);

    const unpaused = await api.call('POST', `${base}/${batchExport.id}/unpause`, { body: { backfill: true } });
    expect(unpaused.status, unpaused.text).toBe(200);
    expect(unpaused.body.paused).toBe(false);

    const [backfill] = (await api.call('GET', `${base}/${batchExport.id}/backfills`)).body.results;
    expect(backfill.start_at).toBe(pausedAt.toISOString());
    const done = await finished(batchExport.id, backfill.id);
    expect(done.body).toMatchObject({ status: 'Completed', total_records_count: 3 });
    const runs = (await api.call('GET', `${base}/${batchExport.id}/runs`)).body.results;
    expect(
      runs.filter((run: { backfill_id: string }) => run.backfill_id === backfill.id).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('ends a backfill Cancelled, with the reason, when its export is deleted during it', async () => {
    const batchExport = await createExport();
    await insertEvents(api.stack.db.pool, [makeEvent(api.teamId, '2023-05-01T00:10:00Z')]);
    const created = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2023-05-01T00:00:00Z', end_at: '2023-05-09T00:00:00Z' },
    });
    expect(created.status).toBe(201);

    expect((await api.call('DELETE', `${base}/${batchExport.id}`)).status).toBe(204);

    const { rows } = await api.stack.db.pool.query(
      'SELECT status, latest_error, finished_at FROM batch_export_backfills WHERE id = $1',
      [created.body.backfill_id],
    );
    expect(rows[0]).toMatchObject({ status: 'Cancelled', finished_at: expect.any(Date) });
    expect(rows[0].latest_error).toContain('the batch export was deleted');
    // Its workflow stops too, and leaves no run behind Starting or Running.
    await api.stack.temporal.workflow
      .getHandle(`${batchExport.id}-Backfill-2023-05-01T00:00:00Z-2023-05-09T00:00:00Z`)
      .result()
      .catch(() => undefined);
    const active = await api.stack.db.pool.query(
      `SELECT count(*)::int AS n FROM batch_export_runs WHERE batch_export_id = $1 AND status IN ('Starting', 'Running')`,
      [batchExport.id],
    );
    expect(active.rows[0].n).toBe(0);
  });

  it("answers 404 for another project's backfills and 403 to a read-only key creating one", async () => {
    const batchExport = await createExport();
    const otherProject = `/api/projects/${api.teamId + 1000}/batch_exports/${batchExport.id}/backfills`;
    expect((await api.call('GET', otherProject)).status).toBe(403);
    const missing = await api.call('GET', `${base}/${batchExport.id}/backfills/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    const readOnly = await api.newKey({ scopes: ['batch_export:read'] });
    const refused = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      key: readOnly,
      body: { start_at: '2024-01-01T00:00:00Z', end_at: '2024-01-01T01:00:00Z' },
    });
    expect(refused.status).toBe(403);
  });
});
