import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../../src/db/runs';
import { describeSchedule, expectScheduleToMatch, useApiTest } from './helpers';

describe('batch exports API: pause, unpause, update and delete keep the schedule in step', () => {
  const api = useApiTest();
  let base: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  const create = (body: Record<string, unknown> = {}) => api.createExport(body);

  it('deletes more exports at once than the pool has connections, without waiting on itself', async () => {
    // The test database's pool has 10 connections; each delete holds one for its transaction.
    const created = await Promise.all(Array.from({ length: 12 }, () => create()));
    const responses = await Promise.all(created.map((body) => api.call('DELETE', `${base}/${body.id}`)));

    expect(responses.map((response) => response.status)).toEqual(created.map(() => 204));
    const { rows } = await api.stack.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM batch_exports WHERE id = ANY($1::uuid[]) AND deleted',
      [created.map((body) => body.id)],
    );
    expect(rows[0]!.n).toBe(12);
  }, 60_000);

  it('pauses: the export and its schedule are paused, with who paused and when', async () => {
    const created = await create();
    const before = Date.now();
    const response = await api.call('POST', `${base}/${created.id}/pause`);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ paused: true, paused_by: 'tester@example.com' });
    expect(Date.parse(response.body.last_paused_at)).toBeGreaterThanOrEqual(before - 1000);
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.state.note).toBe('Paused by tester@example.com');
  });

  it('pausing a paused export changes nothing', async () => {
    const created = await create();
    const first = await api.call('POST', `${base}/${created.id}/pause`);
    const second = await api.call('POST', `${base}/${created.id}/pause`);
    expect(second.status).toBe(200);
    expect(second.body.last_paused_at).toBe(first.body.last_paused_at);
    expect((await describeSchedule(api, created.id)).state.paused).toBe(true);
  });

  it('unpauses: the export and its schedule run again, and the note says who unpaused', async () => {
    const created = await create();
    const paused = await api.call('POST', `${base}/${created.id}/pause`);
    const response = await api.call('POST', `${base}/${created.id}/unpause`, { body: {} });

    expect(response.status).toBe(200);
    expect(response.body.paused).toBe(false);
    expect(response.body.last_paused_at).toBe(paused.body.last_paused_at);
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.state.note).toBe('Unpaused by tester@example.com');
  });

  it('creates a paused export with a paused schedule, and PATCH paused=false unpauses both', async () => {
    const created = await create({ paused: true });
    expect(created).toMatchObject({ paused: true, paused_by: 'tester@example.com' });
    expect(created.last_paused_at).not.toBeNull();
    expect((await expectScheduleToMatch(api, created)).state.note).toBe('Paused by tester@example.com');
    const response = await api.call('PATCH', `${base}/${created.id}`, { body: { paused: false } });
    expect(response.body.paused).toBe(false);
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.state.note).toBe('Unpaused by tester@example.com');
  });

  it('moves every schedule setting on update: week interval, offsets, timezone, start and end', async () => {
    const created = await create();
    const response = await api.call('PATCH', `${base}/${created.id}`, {
      body: {
        interval: 'week',
        offset_day: 2,
        offset_hour: 6,
        timezone: 'America/New_York',
        start_at: '2030-01-01T00:00:00Z',
        end_at: '2031-01-01T00:00:00Z',
      },
    });
    expect(response.status, response.text).toBe(200);
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.spec.calendars?.[0]?.dayOfWeek?.[0]?.start).toBe('TUESDAY');
  });

  it('concurrent changes to one export leave its schedule matching the last one stored', async () => {
    const created = await create();
    const intervals = ['every 5 minutes', 'day', 'every 15 minutes', 'week', 'hour', 'every 30 minutes'];
    const responses = await Promise.all([
      ...intervals.map((interval) => api.call('PATCH', `${base}/${created.id}`, { body: { interval } })),
      api.call('POST', `${base}/${created.id}/pause`),
    ]);
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 200));
    const stored = await api.call('GET', `${base}/${created.id}`);
    expect(stored.body.paused).toBe(true);
    await expectScheduleToMatch(api, stored.body);
  });

  it('an update keeps the pause note', async () => {
    const created = await create();
    await api.call('POST', `${base}/${created.id}/pause`);
    const response = await api.call('PATCH', `${base}/${created.id}`, { body: { name: 'still paused' } });
    expect(response.body.paused).toBe(true);
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.state.note).toBe('Paused by tester@example.com');
  });

  it('recreates a schedule that went missing when the export changes', async () => {
    const created = await create();
    await api.stack.temporal.schedule.getHandle(created.id).delete();
    const response = await api.call('POST', `${base}/${created.id}/pause`);
    expect(response.status).toBe(200);
    await expectScheduleToMatch(api, response.body);
  });

  it('deleting cancels the active runs: their workflows are cancelled and the runs marked Cancelled', async () => {
    const created = await create();
    // A run whose workflow waits on a task queue no worker polls: it stays open until cancelled.
    const workflowId = `${created.id}-2024-01-01T01:00:00Z`;
    const handle = await api.stack.temporal.workflow.start('s3-export', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId,
      args: [{ batchExportId: created.id, teamId: api.teamId, interval: 'hour', timezone: 'UTC' }],
    });
    const run = await startRun(api.stack.db.pool, {
      batchExportId: created.id,
      dataIntervalStart: new Date('2024-01-01T00:00:00Z'),
      dataIntervalEnd: new Date('2024-01-01T01:00:00Z'),
      workflowId,
      workflowRunId: handle.firstExecutionRunId,
      backfillId: null,
    });
    try {
      const response = await api.call('DELETE', `${base}/${created.id}`);
      expect(response.status).toBe(204);

      const { rows } = await api.stack.db.pool.query(
        'SELECT status, latest_error FROM batch_export_runs WHERE id = $1',
        [run.id],
      );
      expect(rows[0].status).toBe('Cancelled');
      expect(rows[0].latest_error).toMatch(/deleted by tester@example.com/);
      const history = await handle.fetchHistory();
      expect(history.events?.some((event) => event.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
    } finally {
      await handle.terminate('test cleanup').catch(() => undefined);
    }
  });

  it('a delete that Temporal refuses part way is undone: the schedule comes back and the export stays', async () => {
    const created = await create({ interval: 'day', offset_hour: 4, timezone: 'Europe/Paris' });
    // Temporal refuses to cancel a workflow without an id: the failure comes after the schedule was deleted.
    const run = await startRun(api.stack.db.pool, {
      batchExportId: created.id,
      dataIntervalStart: new Date('2024-01-01T00:00:00Z'),
      dataIntervalEnd: new Date('2024-01-02T00:00:00Z'),
      workflowId: '',
      workflowRunId: randomUUID(),
      backfillId: null,
    });

    const response = await api.call('DELETE', `${base}/${created.id}`);

    // Temporal answers INVALID_ARGUMENT, which is a 400 since Temporal errors are classified.
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/Temporal refused to cancel workflow/);
    const stored = await api.call('GET', `${base}/${created.id}`);
    expect(stored.status).toBe(200);
    await expectScheduleToMatch(api, stored.body);
    const { rows } = await api.stack.db.pool.query('SELECT status FROM batch_export_runs WHERE id = $1', [run.id]);
    expect(rows[0].status).toBe('Starting');
  });
});
