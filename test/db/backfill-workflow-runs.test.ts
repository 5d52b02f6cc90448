import { afterAll, describe, expect, it } from 'vitest';
import {
  closeWorkflowRun,
  listWorkflowRunsPage,
  recordWorkflowRun,
  type WorkflowRunReport,
} from '../../src/db/backfill-workflow-runs';
import { getBackfill, insertBackfill } from '../../src/db/backfills';
import { useTestDatabase } from '../helpers/database';
import { createTeam } from '../helpers/fixtures';

/** What the workflow and reconciliation write, against Postgres: retries and late writes change nothing. */
describe('backfill workflow runs in Postgres', () => {
  const db = useTestDatabase();

  afterAll(async () => {
  });

  async function newBackfill(): Promise<string> {
    const { teamId } = await createTeam(db.pool);
    const { rows } = await db.pool.query<{ id: string }>(
      `WITH destination AS (INSERT INTO batch_export_destinations (type) VALUES ('NoOp') RETURNING id)
       INSERT INTO batch_exports (team_id, name, destination_id) SELECT $1, 'runs', id FROM destination RETURNING id`,
      [teamId],
    );
    const backfill = await insertBackfill(db.pool, {
      teamId,
      batchExportId: rows[0]!.id,
      startAt: new Date('2024-01-01T00:00:00Z'),
      endAt: new Date('2024-01-02T00:00:00Z'),
      workflowId: 'backfill-workflow',
    });
    return backfill.id;
  }

  const listed = async (backfillId: string) =>
    (await listWorkflowRunsPage(db.pool, { backfillId, ordering: 'started_at', direction: 'next', limit: 10 })).rows;

  function report(backfillId: string, overrides: Partial<WorkflowRunReport>): WorkflowRunReport {
    return {
      backfillId,
      // Temporal's run ids are unique across workflows: so are these.
      runId: `${backfillId}-1`,
      status: 'Running',
      startedAt: new Date('2026-01-01T10:00:00Z'),
      finishedAt: null,
      dataIntervalStart: new Date('2024-01-01T00:00:00Z'),
      dataIntervalEnd: null,
      runsCompleted: 0,
      runsFailed: 0,
      runsSkipped: 0,
      latestError: null,
      ...overrides,
    };
  }

  it('keeps one row per run id however often it is written, and a late Running never undoes its end', async () => {
    const backfillId = await newBackfill();
    const ended = report(backfillId, {
      status: 'ContinuedAsNew',
      finishedAt: new Date('2026-01-01T10:05:00Z'),
      dataIntervalEnd: new Date('2024-01-01T04:00:00Z'),
      runsCompleted: 3,
      runsSkipped: 1,
    });

    await recordWorkflowRun(db.pool, report(backfillId, {}));
    await recordWorkflowRun(db.pool, report(backfillId, {}));
    await recordWorkflowRun(db.pool, ended);
    await recordWorkflowRun(db.pool, ended);
    await recordWorkflowRun(db.pool, report(backfillId, {}));

    expect(await listed(backfillId)).toMatchObject([
      {
        workflow_run_id: `${backfillId}-1`,
        status: 'ContinuedAsNew',
        finished_at: new Date('2026-01-01T10:05:00Z'),
        data_interval_start: new Date('2024-01-01T00:00:00Z'),
        data_interval_end: new Date('2024-01-01T04:00:00Z'),
        runs_completed: 3,
        runs_skipped: 1,
      },
    ]);
    expect(await getBackfill(db.pool, backfillId)).toMatchObject({
      workflow_runs_count: 1,
      current_workflow_run_id: `${backfillId}-1`,
    });
  });

  it('counts the runs and points at the latest; a closed run found in Temporal keeps what the run recorded', async () => {
    const backfillId = await newBackfill();
    await recordWorkflowRun(db.pool, report(backfillId, { status: 'ContinuedAsNew', runsCompleted: 4 }));
    await recordWorkflowRun(
      db.pool,
      report(backfillId, { runId: `${backfillId}-2`, startedAt: new Date('2026-01-01T11:00:00Z') }),
    );
    const terminated = {
      backfillId,
      status: 'Terminated',
      startedAt: new Date('2026-01-01T11:00:00Z'),
      finishedAt: new Date('2026-01-01T11:30:00Z'),
    } as const;

    await closeWorkflowRun(db.pool, { ...terminated, runId: `${backfillId}-1` });
    await closeWorkflowRun(db.pool, { ...terminated, runId: `${backfillId}-2` });

    expect((await listed(backfillId)).map((run) => [run.workflow_run_id, run.status, run.finished_at])).toEqual([
      [`${backfillId}-1`, 'ContinuedAsNew', null],
      [`${backfillId}-2`, 'Terminated', new Date('2026-01-01T11:30:00Z')],
    ]);
    expect(await getBackfill(db.pool, backfillId)).toMatchObject({
      workflow_runs_count: 2,
      current_workflow_run_id: `${backfillId}-2`,
    });
  });
});
