import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/backfills';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { useApiTest, type ApiResponse } from './helpers';

interface WorkflowRun {
  workflow_id: string;
  workflow_run_id: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  data_interval_start: string | null;
  data_interval_end: string | null;
  runs_completed: number;
  runs_failed: number;
  runs_skipped: number;
  latest_error: string | null;
}

describe("a backfill's workflow runs, through the API", () => {
  // Four intervals per workflow run, one at a time: ten hours take three workflow runs.
  const api = useApiTest({
    worker: true,
    env: { BACKFILL_INTERVALS_PER_WORKFLOW_RUN: '4', BACKFILL_MAX_PARALLEL_RUNS: '1' },
  });
  let base: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  /** A paused NoOp export (reads each interval, writes nothing) with an event in the hour starting at `from`. */
  async function backfillFrom(from: string, hours: number): Promise<{ exportId: string; backfillId: string }> {
    const created = await api.call('POST', base, {
      body: { name: 'history', destination: { type: 'NoOp', config: {} }, interval: 'hour', paused: true },
    });
    expect(created.status, created.text).toBe(201);
    await insertEvents(api.stack.db.pool, [makeEvent(api.teamId, new Date(Date.parse(from) + 600_000).toISOString())]);
    const end = new Date(Date.parse(from) + hours * 3_600_000).toISOString();
    const backfill = await api.call('POST', `${base}/${created.body.id}/backfills`, {
      body: { start_at: from, end_at: end },
    });
    expect(backfill.status, backfill.text).toBe(201);
    return { exportId: created.body.id, backfillId: backfill.body.backfill_id };
  }

  /** Waits for the backfill's workflow, across its runs, to close; returns the backfill as the API then shows it. */
  async function closed(exportId: string, backfillId: string): Promise<ApiResponse> {
    const backfill = await api.call('GET', `${base}/${exportId}/backfills/${backfillId}`);
    await api.stack.temporal.workflow
      .getHandle(backfill.body.workflow_id)
      .result()
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowFailedError)) throw error;
      });
    return api.call('GET', `${base}/${exportId}/backfills/${backfillId}`);
  }

  /** Every workflow run the API lists, following its next links two at a time. */
  async function listedRuns(exportId: string, backfillId: string): Promise<WorkflowRun[]> {
    const runs: WorkflowRun[] = [];
    let url: string | null = `${base}/${exportId}/backfills/${backfillId}/workflow_runs?limit=2`;
    while (url) {
      const page: ApiResponse = await api.call('GET', url);
      expect(page.status, page.text).toBe(200);
      runs.push(...page.body.results);
      url = page.body.next ? new URL(page.body.next).pathname + new URL(page.body.next).search : null;
    }
    return runs;
  }

  /** The chain of runs as Temporal has it, oldest first, walked back from the latest. */
  async function temporalRuns(
    workflowId: string,
  ): Promise<Array<{ runId: string; status: string; startedAt: string }>> {
    const runs: Array<{ runId: string; status: string; startedAt: string }> = [];
    let runId: string | undefined = (await api.stack.temporal.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const handle: WorkflowHandle = api.stack.temporal.workflow.getHandle(workflowId, runId);
      const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
      runs.unshift({ runId, status: description.status.name, startedAt: description.startTime.toISOString() });
      runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    return runs;
  }

  it('lists one record per workflow run, each continued as new but the last, covering the range contiguously', async () => {
    const { exportId, backfillId } = await backfillFrom('2024-03-01T00:00:00Z', 10);

    const backfill = await closed(exportId, backfillId);
    const runs = await listedRuns(exportId, backfillId);

    expect(backfill.body).toMatchObject({ status: 'Completed', workflow_runs_count: 3 });
    expect(runs.map((run) => run.status)).toEqual(['ContinuedAsNew', 'ContinuedAsNew', 'Completed']);
    expect(runs.map((run) => [run.data_interval_start, run.data_interval_end])).toEqual([
      ['2024-03-01T00:00:00.000Z', '2024-03-01T04:00:00.000Z'],
      ['2024-03-01T04:00:00.000Z', '2024-03-01T08:00:00.000Z'],
      ['2024-03-01T08:00:00.000Z', '2024-03-01T10:00:00.000Z'],
    ]);
    expect(runs.map((run) => [run.runs_completed, run.runs_failed, run.runs_skipped])).toEqual([
      [4, 0, 0],
      [4, 0, 0],
      [2, 0, 0],
    ]);
    const temporal = await temporalRuns(backfill.body.workflow_id);
    expect(temporal.map((run) => run.status)).toEqual(['CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'COMPLETED']);
    expect(runs.map((run) => run.workflow_run_id)).toEqual(temporal.map((run) => run.runId));
    expect(runs.map((run) => run.started_at)).toEqual(temporal.map((run) => run.startedAt));
    expect(backfill.body.current_workflow_run_id).toBe(temporal[2]!.runId);
    for (const run of runs) {
      expect(run).toMatchObject({ workflow_id: backfill.body.workflow_id, latest_error: null });
      expect(Date.parse(run.finished_at!)).toBeGreaterThanOrEqual(Date.parse(run.started_at));
    }
  });

  it('shows ContinuedAsNew then Cancelled for a backfill cancelled in its second workflow run', async () => {
    const { exportId, backfillId } = await backfillFrom('2024-04-01T00:00:00Z', 24);
    const url = `${base}/${exportId}/backfills/${backfillId}`;
    await eventually(
      () => api.call('GET', url),
      (response) => response.body.workflow_runs_count === 2,
    );

    const cancelled = await api.call('POST', `${url}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    const backfill = await closed(exportId, backfillId);
    const runs = await listedRuns(exportId, backfillId);

    expect(backfill.body).toMatchObject({ status: 'Cancelled', workflow_runs_count: 2 });
    expect(runs).toMatchObject([
      {
        status: 'ContinuedAsNew',
        data_interval_start: '2024-04-01T00:00:00.000Z',
        data_interval_end: '2024-04-01T04:00:00.000Z',
        runs_completed: 4,
      },
      {
        status: 'Cancelled',
        data_interval_start: '2024-04-01T04:00:00.000Z',
        finished_at: expect.any(String),
        latest_error: 'Cancelled by request',
      },
    ]);
    const temporal = await temporalRuns(backfill.body.workflow_id);
    expect(temporal.map((run) => run.status)).toEqual(['CONTINUED_AS_NEW', 'CANCELLED']);
    expect(runs.map((run) => run.workflow_run_id)).toEqual(temporal.map((run) => run.runId));
    expect(backfill.body.current_workflow_run_id).toBe(temporal[1]!.runId);
  });

  it('lists the one workflow run of a short backfill; 404 for an unknown backfill, 400 for a forged cursor', async () => {
    const { exportId, backfillId } = await backfillFrom('2024-05-01T00:00:00Z', 1);
    const backfill = await closed(exportId, backfillId);

    expect(await listedRuns(exportId, backfillId)).toMatchObject([
      { status: 'Completed', workflow_run_id: backfill.body.current_workflow_run_id, runs_completed: 1 },
    ]);
    const unknown = await api.call('GET', `${base}/${exportId}/backfills/${randomUUID()}/workflow_runs`);
    const forged = await api.call('GET', `${base}/${exportId}/backfills/${backfillId}/workflow_runs?cursor=abc`);

    expect(unknown.status).toBe(404);
    expect(forged.status).toBe(400);
    expect(forged.body).toMatchObject({ attr: 'cursor', code: 'invalid_cursor' });
  });

  it("shows the workflow runs in the CLI's backfill view", async () => {
    const { exportId, backfillId } = await backfillFrom('2024-06-01T00:00:00Z', 6);
    const backfill = await closed(exportId, backfillId);
    const runs = await listedRuns(exportId, backfillId);

    // The CLI talks to the HTTP API: this one on a port of its own.
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const cli = ['tsx', 'scripts/cli.ts', 'backfill', exportId, '--id', backfillId];
    const { stdout } = await promisify(execFile)('npx', cli, {
      env: {
        ...process.env,
        BATCH_EXPORTS_API_URL: url,
        BATCH_EXPORTS_API_KEY: api.key,
        BATCH_EXPORTS_PROJECT_ID: String(api.teamId),
      },
    });

    expect(stdout).toContain(`Status:        Completed`);
    expect(stdout).toContain(`${backfill.body.workflow_id} (2 workflow runs)`);
    const rows = stdout.split('\n').filter((line) => runs.some((run) => line.startsWith(run.workflow_run_id)));
    expect(rows.map((row) => row.split(/\s+/))).toEqual([
      [
        runs[0]!.workflow_run_id,
        'ContinuedAsNew',
        runs[0]!.started_at,
        runs[0]!.finished_at,
        '2024-06-01T00:00:00.000Z',
        'to',
        '2024-06-01T04:00:00.000Z',
        '4',
        '0',
        '0',
      ],
      [
        runs[1]!.workflow_run_id,
        'Completed',
        runs[1]!.started_at,
        runs[1]!.finished_at,
        '2024-06-01T04:00:00.000Z',
        'to',
        '2024-06-01T06:00:00.000Z',
        '2',
        '0',
        '0',
      ],
    ]);
  });

  it('documents the workflow runs in the OpenAPI document', async () => {
    const response = await api.call('GET', '/api/schema/', { key: null });
    const paths = response.body.paths;
    for (const scope of ['/api/organizations/{organization_id}', '/api/projects/{project_id}']) {
      const list = paths[`${scope}/batch_exports/{batch_export_id}/backfills/{id}/workflow_runs`]?.get;
      const retrieve = paths[`${scope}/batch_exports/{batch_export_id}/backfills/{id}`]?.get;
      const listed = list?.responses[200].content['application/json'].schema.properties.results.items.properties;
      const backfill = retrieve?.responses[200].content['application/json'].schema.properties;

      expect(Object.keys(listed ?? {})).toEqual(expect.arrayContaining(['workflow_run_id', 'status', 'runs_failed']));
      expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toContain('cursor');
      expect(Object.keys(backfill ?? {})).toEqual(
        expect.arrayContaining(['workflow_runs_count', 'current_workflow_run_id']),
      );
    }
  });
});
