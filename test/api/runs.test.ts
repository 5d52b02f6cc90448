import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeLog } from '../../src/db/logs';
import { finishRun, startRun } from '../../src/db/runs';
import { useApiTest } from './helpers';

describe('runs API: list with cursors, filters and ordering, retrieve, cancel, logs', () => {
  const api = useApiTest();
  let base: string;
  let exportId: string;
  /** Runs of `exportId`, interval ends 01:00 .. 06:00 on 2024-03-01, created in that order. */
  const runIds: string[] = [];

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    exportId = (await api.call('POST', base, { body: { name: 'runs', destination: await api.s3Destination() } })).body
      .id;
    for (let hour = 1; hour <= 6; hour++) {
      const end = new Date(Date.UTC(2024, 2, 1, hour));
      const run = await startRun(api.stack.db.pool, {
        batchExportId: exportId,
        dataIntervalStart: new Date(end.getTime() - 3_600_000),
        dataIntervalEnd: end,
        workflowId: `${exportId}-${end.toISOString()}`,
        workflowRunId: randomUUID(),
        backfillId: null,
      });
      if (hour % 2 === 0) {
        await finishRun(api.stack.db.pool, { runId: run.id, status: 'Completed', recordsCompleted: hour });
      } else if (hour === 5) {
        await finishRun(api.stack.db.pool, { runId: run.id, status: 'Failed', latestError: 'Bucket missing' });
      }
      runIds.push(run.id);
    }
  });

  const path = (url: string) => {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  };

  it('pages through every run once, newest first, and back again', async () => {
    const seen: string[] = [];
    let page = await api.call('GET', `${base}/${exportId}/runs?limit=4`);
    expect(page.status).toBe(200);
    expect(page.body.previous).toBeNull();
    seen.push(...page.body.results.map((run: { id: string }) => run.id));
    const second = await api.call('GET', path(page.body.next));
    seen.push(...second.body.results.map((run: { id: string }) => run.id));
    expect(second.body.next).toBeNull();
    expect(seen).toEqual([...runIds].reverse());

    page = await api.call('GET', path(second.body.previous));
    expect(page.body.results.map((run: { id: string }) => run.id)).toEqual([...runIds].reverse().slice(0, 4));
    expect(page.body.previous).toBeNull();
    expect(page.body.next).not.toBeNull();
  });

  it('orders by data_interval_end ascending when asked', async () => {
    const response = await api.call('GET', `${base}/${exportId}/runs?ordering=data_interval_end&limit=3`);
    expect(response.body.results.map((run: { data_interval_end: string }) => run.data_interval_end)).toEqual([
      '2024-03-01T01:00:00.000Z',
      '2024-03-01T02:00:00.000Z',
      '2024-03-01T03:00:00.000Z',
    ]);
    const next = await api.call('GET', path(response.body.next));
    expect(next.body.results[0].data_interval_end).toBe('2024-03-01T04:00:00.000Z');
  });

  it('filters by status and by interval end', async () => {
    const completed = await api.call('GET', `${base}/${exportId}/runs?status=Completed`);
    expect(completed.body.results).toHaveLength(3);
    expect(completed.body.results.every((run: { status: string }) => run.status === 'Completed')).toBe(true);
    const several = await api.call('GET', `${base}/${exportId}/runs?status=Failed,Starting`);
    expect(several.body.results.map((run: { status: string }) => run.status).sort()).toEqual([
      'Failed',
      'Starting',
      'Starting',
    ]);
    const window = await api.call(
      'GET',
      `${base}/${exportId}/runs?after=2024-03-01T02:00:00Z&before=2024-03-01T04:00:00Z&ordering=data_interval_end`,
    );
    expect(window.body.results.map((run: { data_interval_end: string }) => run.data_interval_end)).toEqual([
      '2024-03-01T02:00:00.000Z',
      '2024-03-01T03:00:00.000Z',
    ]);
  });

  it('rejects a bad status, ordering or cursor with a 400 naming it', async () => {
    for (const [query, attr] of [
      ['status=Done', 'status.0'],
      ['ordering=name', 'ordering'],
      ['cursor=garbage', 'cursor'],
      ['after=last-tuesday', 'after'],
    ]) {
      const response = await api.call('GET', `${base}/${exportId}/runs?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.attr).toBe(attr);
    }
    const first = await api.call('GET', `${base}/${exportId}/runs?limit=1`);
    const cursor = new URL(first.body.next).searchParams.get('cursor');
    const mixed = await api.call('GET', `${base}/${exportId}/runs?ordering=data_interval_end&cursor=${cursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.body.code).toBe('invalid_cursor');
    // Year 0000 is ISO 8601 (1 BC) but not a Postgres timestamp: it was a 500.
    for (const value of ['not a time', '0000-01-01T00:00:00Z']) {
      const forged = Buffer.from(
        JSON.stringify({ ordering: '-created_at', direction: 'next', value, id: runIds[0] }),
      ).toString('base64url');
      const rejected = await api.call('GET', `${base}/${exportId}/runs?cursor=${forged}`);
      expect(rejected.status, value).toBe(400);
      expect(rejected.body).toMatchObject({ attr: 'cursor', code: 'invalid_cursor' });
    }
  });

  it('retrieves a run, and 404s for a run of another export', async () => {
    const response = await api.call('GET', `${base}/${exportId}/runs/${runIds[4]}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: runIds[4],
      batch_export_id: exportId,
      status: 'Failed',
      latest_error: 'Bucket missing',
      data_interval_start: '2024-03-01T04:00:00.000Z',
      data_interval_end: '2024-03-01T05:00:00.000Z',
    });
    const other = (await api.call('POST', base, { body: { name: 'other', destination: await api.s3Destination() } }))
      .body.id;
    expect((await api.call('GET', `${base}/${other}/runs/${runIds[4]}`)).status).toBe(404);
    expect((await api.call('GET', `${base}/${exportId}/runs/${randomUUID()}`)).status).toBe(404);
  });

  it('shows the latest runs on the export', async () => {
    const response = await api.call('GET', `${base}/${exportId}`);
    expect(response.body.latest_runs.map((run: { id: string }) => run.id)).toEqual([...runIds].reverse());
  });

  it('cancels an active run: its workflow is cancelled and the run ends Cancelled', async () => {
    const end = new Date('2024-03-02T00:00:00Z');
    const workflowId = `${exportId}-2024-03-02T00:00:00Z`;
    const handle = await api.stack.temporal.workflow.start('s3-export', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId,
      args: [{ batchExportId: exportId, teamId: api.teamId, interval: 'hour', timezone: 'UTC' }],
    });
    const run = await startRun(api.stack.db.pool, {
      batchExportId: exportId,
      dataIntervalStart: new Date(end.getTime() - 3_600_000),
      dataIntervalEnd: end,
      workflowId,
      workflowRunId: handle.firstExecutionRunId,
      backfillId: null,
    });
    try {
      const response = await api.call('POST', `${base}/${exportId}/runs/${run.id}/cancel`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ status: 'Cancelled', latest_error: 'Cancelled by tester@example.com' });
      expect(response.body.finished_at).not.toBeNull();
      const history = await handle.fetchHistory();
      expect(history.events?.some((event) => event.workflowExecutionCancelRequestedEventAttributes)).toBe(true);

      const again = await api.call('POST', `${base}/${exportId}/runs/${run.id}/cancel`);
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ code: 'run_not_active' });
      expect(again.body.detail).toMatch(/already Cancelled/);
    } finally {
      await handle.terminate('test cleanup').catch(() => undefined);
    }
  });

  it("returns a run's log entries only", async () => {
    const entry = { teamId: api.teamId, batchExportId: exportId };
    await writeLog(api.stack.db.pool, { ...entry, runId: runIds[0], level: 'INFO', message: 'first run line' });
    await writeLog(api.stack.db.pool, { ...entry, runId: runIds[1], level: 'ERROR', message: 'second run line' });
    const response = await api.call('GET', `${base}/${exportId}/runs/${runIds[0]}/logs`);
    expect(response.status).toBe(200);
    expect(response.body.results.map((log: { message: string }) => log.message)).toEqual(['first run line']);
    expect(response.body.results[0]).toMatchObject({ instance_id: runIds[0], run_id: runIds[0], level: 'INFO' });
  });
});
