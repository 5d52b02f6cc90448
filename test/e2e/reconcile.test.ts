import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { useApiTest, type ApiResponse } from '../api/helpers';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { intervalInput } from '../helpers/s3-exports';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

describe('runs and backfills whose workflow is closed in Temporal', () => {
  const api = useApiTest();
  let worker: WorkerProcess;
  let base: string;
  /** Holds the events table locked: every export's source query waits, so its run stays Running. */
  let lock: PoolClient;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    await insertEvents(api.stack.db.pool, [
      makeEvent(api.teamId, '2024-09-01T10:10:00Z'),
      makeEvent(api.teamId, '2024-09-02T03:10:00Z'),
    ]);
    lock = await api.stack.db.pool.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    worker = spawnWorkerProcess(api.stack, { RECONCILE_INTERVAL_SECONDS: '1' });
    await worker.waitFor('Worker started');
  });

  afterAll(async () => {
    await lock?.query('ROLLBACK');
    lock?.release();
    worker?.child.kill('SIGKILL');
  });

  /** GETs `url` until `done` accepts the body (at most a minute); returns the last response. */
  async function pollUntil(url: string, done: (body: ApiResponse['body']) => boolean): Promise<ApiResponse> {
    let response = await api.call('GET', url);
    for (let i = 0; i < 600 && !(response.status === 200 && done(response.body)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      response = await api.call('GET', url);
    }
    return response;
  }

  async function noOpExport(name: string) {
    return createBatchExport(api.stack.services, api.teamId, {
      name,
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });
  }

  /** Starts a NoOp export's run, which waits for the locked table; returns its workflow and its id once Running. */
  async function startBlockedRun(name: string) {
    const batchExport = await noOpExport(name);
    const handle = await api.stack.temporal.workflow.start('noop-export', {
      taskQueue: api.stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-2024-09-01T11:00:00Z`,
      args: [intervalInput(batchExport.id, api.teamId, '2024-09-01T11:00:00Z')],
    });
    const runs = await pollUntil(`${base}/${batchExport.id}/runs`, (body) => body.results[0]?.status === 'Running');
    expect(runs.body.results[0]?.status).toBe('Running');
    return {
      handle,
      runUrl: `${base}/${batchExport.id}/runs/${runs.body.results[0].id}`,
      runId: runs.body.results[0].id as string,
    };
  }

  it('shows a run Terminated through the API once its workflow is terminated', async () => {
    const { handle, runUrl } = await startBlockedRun('terminated run');

    await handle.terminate('stuck, says the on-call engineer');
    const run = await pollUntil(runUrl, (body) => body.status !== 'Running');

    expect(run.body).toMatchObject({ status: 'Terminated' });
    expect(run.body.latest_error).toContain('is terminated in Temporal');
    expect(run.body.finished_at).not.toBeNull();
    // Written right after the status.
    const logs = await pollUntil(`${runUrl}/logs`, (body) => JSON.stringify(body).includes('ended as Terminated'));
    expect(JSON.stringify(logs.body)).toContain('ended as Terminated');
  }, 120_000);

  it('leaves a run whose workflow still runs alone', async () => {
    const { handle, runUrl, runId } = await startBlockedRun('running run');
    // Checked by the reconciler (every second) since it started: a stamp newer than the start means a later pass.
    const checkedTwice = async () => {
      const { rows } = await api.stack.db.pool.query<{ checked: boolean }>(
        `SELECT workflow_checked_at > created_at + interval '1.5 seconds' AS checked FROM batch_export_runs WHERE id = $1`,
        [runId],
      );
      return rows[0]?.checked === true;
    };
    for (let i = 0; i < 600 && !(await checkedTwice()); i++) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(await checkedTwice()).toBe(true);
    expect((await api.call('GET', runUrl)).body.status).toBe('Running');
    await handle.terminate('test done');
  }, 120_000);

  it('shows a backfill Terminated once its workflow is terminated', async () => {
    const batchExport = await noOpExport('terminated backfill');
    const created = await api.call('POST', `${base}/${batchExport.id}/backfills`, {
      body: { start_at: '2024-09-02T00:00:00Z', end_at: '2024-09-02T06:00:00Z' },
    });
    expect(created.status, created.text).toBe(201);
    const url = `${base}/${batchExport.id}/backfills/${created.body.backfill_id}`;
    const started = await pollUntil(url, (body) => body.status === 'Starting' || body.status === 'Running');
    // Its workflow runs (waiting for the locked events table to find the data's bounds).
    const workflow = api.stack.temporal.workflow.getHandle(started.body.workflow_id);
    expect((await workflow.describe()).status.name).toBe('RUNNING');

    await workflow.terminate('not wanted after all');
    const backfill = await pollUntil(url, (body) => body.status !== 'Starting' && body.status !== 'Running');

    expect(backfill.body).toMatchObject({ status: 'Terminated' });
  }, 120_000);
});
