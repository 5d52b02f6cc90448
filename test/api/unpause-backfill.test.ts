import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { getBackfill } from '../../src/db/backfills';
import { unpauseAndReserveBackfill, unpauseBatchExport } from '../../src/service/batch-export-lifecycle';
import { reconcileOnce } from '../../src/service/reconciler';
import { eventually } from '../helpers/backfills';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { describeSchedule, useApiTest, type ApiResponse } from './helpers';

/**
 * Unpause with {"backfill": true} is one Postgres transaction: the backfill row, the export's unpaused state and the
 * schedule's unpause are kept or rolled back together; the backfill's workflow starts after the commit, and the
 * reconciler starts one that a crash left unstarted.
 */
describe('unpause with backfill: all or nothing', () => {
  const api = useApiTest({ worker: true });
  let base: string;
  let down: FastifyInstance;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    // Nothing listens on port 1: every Temporal call fails, as when the cluster is down.
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    down = await buildServer({ deps: { ...api.stack.services, temporal, temporalDeadlineMs: 1500 } });
  });
  afterAll(async () => {
    await down?.close();
  });

  /** A paused export, paused 3.5 hours ago (as stored); with `events`, an event in each of the 3 whole hours it missed. */
  async function pausedWithMissedHours(name: string, events = false): Promise<{ id: string; pausedAt: Date }> {
    const created = await api.call('POST', base, { body: { name, destination: await api.s3Destination() } });
    expect(created.status, created.text).toBe(201);
    expect((await api.call('POST', `${base}/${created.body.id}/pause`)).status).toBe(200);
    const pausedAt = new Date(Date.now() - 3.5 * 3_600_000);
    await api.stack.db.pool.query('UPDATE batch_exports SET last_paused_at = $2 WHERE id = $1', [
      created.body.id,
      pausedAt,
    ]);
    const lastHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    if (!events) return { id: created.body.id, pausedAt };
    await insertEvents(
      api.stack.db.pool,
      [1, 2, 3].map((hoursAgo) =>
        makeEvent(api.teamId, new Date(lastHour - hoursAgo * 3_600_000 + 60_000).toISOString()),
      ),
    );
    return { id: created.body.id, pausedAt };
  }

  async function backfillsOf(exportId: string) {
    const { rows } = await api.stack.db.pool.query(
      'SELECT id, status, workflow_started_at FROM batch_export_backfills WHERE batch_export_id = $1',
      [exportId],
    );
    return rows;
  }

  async function expectStillPaused(exportId: string, pausedAt: Date): Promise<void> {
    const stored = await api.call('GET', `${base}/${exportId}`);
    expect(stored.body).toMatchObject({ paused: true, last_paused_at: pausedAt.toISOString() });
    const schedule = await describeSchedule(api, exportId);
    expect(schedule.state.paused).toBe(true);
    expect(schedule.state.note).toBe('Paused by tester@example.com');
  }

  it('keeps no backfill and leaves the export paused when the schedule cannot be unpaused (Temporal down)', async () => {
    const { id, pausedAt } = await pausedWithMissedHours('temporal down');

    const response = await down.inject({
      method: 'POST',
      url: `${base}/${id}/unpause`,
      headers: { authorization: `Bearer ${api.key}` },
      payload: { backfill: true },
    });

    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'temporal_unavailable' });
    expect(await backfillsOf(id)).toEqual([]);
    await expectStillPaused(id, pausedAt);
  });

  it('keeps no backfill and puts the schedule back when the commit fails after the schedule was unpaused', async () => {
    const { id, pausedAt } = await pausedWithMissedHours('commit fails');
    // Fails at COMMIT, after the backfill row was inserted and the schedule unpaused in Temporal.
    await api.stack.db.pool.query(`
      CREATE FUNCTION refuse_unpause() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_unpause AFTER UPDATE ON batch_exports DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.id = '${id}' AND NOT NEW.paused) EXECUTE FUNCTION refuse_unpause();`);
    try {
      // Through the service: an unexpected database failure is a 500, which the API does not document.
      await expect(
        unpauseBatchExport(api.stack.services, [api.teamId], id, 'tester@example.com', { backfill: true }),
      ).rejects.toThrow(/refused at commit by the test/);
    } finally {
      await api.stack.db.pool.query('DROP TRIGGER refuse_unpause ON batch_exports; DROP FUNCTION refuse_unpause()');
    }

    expect(await backfillsOf(id)).toEqual([]);
    await expectStillPaused(id, pausedAt);
    // Nothing was started in Temporal either: the workflow starts only after a commit.
    const started: string[] = [];
    for await (const workflow of api.stack.temporal.workflow.list({
      query: `WorkflowType = 'backfill-batch-export'`,
    })) {
      if (workflow.workflowId.startsWith(id)) started.push(workflow.workflowId);
    }
    expect(started).toEqual([]);
  });

  it('a crash between the commit and the workflow start: the reconciler starts the backfill after a grace period', async () => {
    const { id, pausedAt } = await pausedWithMissedHours('crash after commit', true);
    // What a process that dies right after the commit leaves: the export unpaused, the backfill reserved.
    const { batchExport, backfill } = await unpauseAndReserveBackfill(
      api.stack.services,
      [api.teamId],
      id,
      'tester@example.com',
      { backfill: true },
    );
    expect(batchExport.paused).toBe(false);
    expect((await describeSchedule(api, id)).state.paused).toBe(false);
    expect(backfill).toMatchObject({ status: 'Starting', workflow_started_at: null, reexport_completed: false });
    expect(backfill!.start_at).toEqual(pausedAt);
    const handle = api.stack.temporal.workflow.getHandle(backfill!.workflow_id!);
    await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const deps = { pool: api.stack.db.pool, temporal: api.stack.temporal, config: api.stack.config };
    // Within the grace period the request may still be about to start it: the reconciler leaves it alone.
    await reconcileOnce(deps, { intervalMs: 1000 });
    await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // Past it (as if a few minutes went by): reading it does not fail it, the reconciler starts it.
    await api.stack.db.pool.query(
      `UPDATE batch_export_backfills SET created_at = now() - interval '5 minutes' WHERE id = $1`,
      [backfill!.id],
    );
    const read = await api.call('GET', `${base}/${id}/backfills/${backfill!.id}`);
    expect(read.body.status).toBe('Starting');
    await reconcileOnce(deps, { intervalMs: 1000 });

    expect((await getBackfill(api.stack.db.pool, backfill!.id))!.workflow_started_at).toBeInstanceOf(Date);
    const done: ApiResponse = await eventually(
      () => api.call('GET', `${base}/${id}/backfills/${backfill!.id}`),
      (response) => !['Starting', 'Running'].includes(response.body.status),
    );
    expect(done.body).toMatchObject({ status: 'Completed', total_records_count: 3 });
    // A second pass finds nothing left to start: the workflow that ran is the only one.
    const { runId } = await handle.describe();
    await reconcileOnce(deps, { intervalMs: 1000 });
    expect((await handle.describe()).runId).toBe(runId);
    expect(await backfillsOf(id)).toHaveLength(1);
  });

  it('the reconciler fails an unstarted backfill that Temporal refuses to start, saying why', async () => {
    const { id } = await pausedWithMissedHours('refused start');
    const { backfill } = await unpauseAndReserveBackfill(api.stack.services, [api.teamId], id, 'tester@example.com', {
      backfill: true,
    });
    // A workflow id Temporal refuses (empty): its start can never succeed.
    await api.stack.db.pool.query(
      `UPDATE batch_export_backfills SET workflow_id = '', created_at = now() - interval '5 minutes' WHERE id = $1`,
      [backfill!.id],
    );

    await reconcileOnce(
      { pool: api.stack.db.pool, temporal: api.stack.temporal, config: api.stack.config },
      { intervalMs: 1000 },
    );

    const failed = await getBackfill(api.stack.db.pool, backfill!.id);
    expect(failed).toMatchObject({ status: 'Failed', finished_at: expect.any(Date) });
    expect(failed!.latest_error).toMatch(/^The backfill's workflow could not be started: Temporal refused/);
  });
});
