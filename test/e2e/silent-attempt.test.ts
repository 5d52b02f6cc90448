import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRun, listRuns } from '../../src/db/runs';
import { eventually } from '../helpers/backfills';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createPostgresExport } from '../helpers/postgres-exports';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

const END = '2024-05-01T11:00:00Z';

describe('an attempt whose worker dies', () => {
  const stack = useTestStack({ worker: false });
  let destination: DestinationDatabase;
  let workerProcess: WorkerProcess | undefined;

  beforeAll(async () => {
    // No worker in this process: the first attempt runs in a child process the test kills.
    destination = await createDestinationDatabase();
  });

  afterAll(async () => {
    workerProcess?.child.kill('SIGKILL');
    await destination?.drop();
  });

  it('is reported by the next attempt: latest_error and a log line say it stopped without reporting', async () => {
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-05-01T10:30:00Z')]);
    await destination.pool.query('CREATE TABLE locked (uuid uuid PRIMARY KEY, event text, timestamp timestamptz)');
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'locked' });
    // The first attempt waits on this lock until its worker is killed.
    const locker = await destination.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');

    workerProcess = spawnWorkerProcess(stack);
    const handle = await stack.temporal.workflow.start('postgres-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-${END}`,
      args: [
        {
          batchExportId: batchExport.id,
          teamId,
          interval: 'hour',
          timezone: 'UTC',
          dataIntervalEnd: END,
          insertActivity: { heartbeatTimeoutSeconds: 3, initialIntervalSeconds: 1, maximumAttempts: 3 },
        },
      ],
    });
    const [started] = await eventually(
      () => listRuns(stack.db.pool, batchExport.id),
      (runs) => runs[0]?.status === 'Running' && runs[0].attempt === 1,
    );
    workerProcess.child.kill('SIGKILL');
    await workerProcess.exited;
    await locker.query('ROLLBACK');
    locker.release();
    await stack.startWorker();

    await handle.result();

    const run = (await getRun(stack.db.pool, started!.id))!;
    expect(run).toMatchObject({ status: 'Completed', records_completed: 1, attempt: 2, latest_error: null });
    const { rows } = await stack.db.pool.query<{ level: string; message: string }>(
      `SELECT level, message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'WARNING' ORDER BY timestamp`,
      [run.id],
    );
    expect(rows.map((row) => row.message)).toEqual([
      'Attempt 1 stopped without reporting an error: its worker stopped or lost contact with Temporal (no heartbeat within the heartbeat timeout)',
      'Retrying the export (attempt 2)',
    ]);
  });
});
