import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresExportProgress } from '../../src/destinations/postgres/export';
import { listRuns } from '../../src/db/runs';
import type { BatchExportWorkflowInput } from '../../src/temporal/contracts';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam } from '../helpers/fixtures';
import { createPostgresExport } from '../helpers/postgres-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';
import { killWithChildren, lastHeartbeat, spawnWorkerProcess } from '../helpers/worker-process';

const EVENTS = 20_000;

describe('a Postgres export whose worker is killed mid-interval', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '200' } });
  let destination: DestinationDatabase;
  let teamId: number;

  beforeAll(async () => {
    // No worker in this process: the first one is a child process the test kills. 100 batches of 200 rows.
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    await insertPageviews(stack.db.pool, teamId, EVENTS, '2024-09-01 10:00:00+00', 100);
    // Each committed batch takes at least 50 ms, so that the kill lands while the interval is being written.
    await destination.pool.query(`
      CREATE TABLE slow_events (uuid uuid, event text, "timestamp" timestamptz);
      CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$;
      CREATE TRIGGER slow_down AFTER INSERT ON slow_events FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
    `);
    // Without a trigger (which makes the export count its rows back on one connection): a CHECK slows each row.
    await destination.pool.query(`
      CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.0005); RETURN true; END $$;
      CREATE TABLE parallel_events (uuid uuid PRIMARY KEY, event text, "timestamp" timestamptz, CHECK (slow_row()));
    `);
  });

  afterAll(async () => {
    await destination?.drop();
  });

  async function startKilledRun(table: string) {
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: table });
    const first = spawnWorkerProcess(stack);
    const workflowId = `${batchExport.id}-kill`;
    const input: BatchExportWorkflowInput = {
      batchExportId: batchExport.id,
      teamId,
      interval: 'hour',
      timezone: 'UTC',
      dataIntervalEnd: '2024-09-01T11:00:00Z',
      // A dead worker is noticed after 2 s without a heartbeat.
      insertActivity: { heartbeatTimeoutSeconds: 2, initialIntervalSeconds: 1, maximumAttempts: 5 },
    };
    const handle = await stack.temporal.workflow.start('postgres-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      args: [input],
    });

    // Kill the worker once the server holds a heartbeat of committed batches; meanwhile count the export's
    // connections to the destination.
    let heartbeated: PostgresExportProgress | null = null;
    let connections = 0;
    for (let i = 0; i < 600 && !heartbeated?.records; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      heartbeated = await lastHeartbeat<PostgresExportProgress>(handle);
      const { rows } = await destination.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
         AND application_name = 'batch-exports'`,
      );
      connections = Math.max(connections, rows[0]!.n);
    }
    expect(heartbeated?.records).toBeGreaterThan(0);
    killWithChildren(first.child.pid!);
    await first.exited;
    const { rows: before } = await destination.pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(before[0].n).toBeLessThan(EVENTS);
    const second = await stack.startWorker();

    const result = await handle.result();
    await second.stop();
    return { batchExport, result, connections };
  }

  async function expectEveryRowOnce(table: string, batchExportId: string) {
    const { rows: exported } = await destination.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS distinct FROM ${table}`,
    );
    expect(exported[0]).toEqual({ n: EVENTS, distinct: EVENTS });
    const { rows: missing } = await destination.pool.query(`SELECT 1 FROM ${table} WHERE uuid IS NULL`);
    expect(missing).toHaveLength(0);
    const [run] = await listRuns(stack.db.pool, batchExportId);
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS });
    return run!;
  }

  it('resumes on another worker after the committed batches and completes with every row exactly once', async () => {
    const { batchExport, result, connections } = await startKilledRun('slow_events');

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    // A table with a trigger is loaded on one connection, and counted back.
    expect(connections).toBe(1);
    const run = await expectEveryRowOnce('slow_events', batchExport.id);
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND message LIKE 'Resuming after%'`,
      [run!.id],
    );
    // The second attempt continued after what the first one committed, instead of starting over.
    expect(Number(/Resuming after (\d+) records/.exec(logs[0]?.message ?? '')?.[1])).toBeGreaterThan(0);
  });

  it('loads a table without triggers on two connections, and after a kill still writes every row once', async () => {
    const { batchExport, result, connections } = await startKilledRun('parallel_events');

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    expect(connections).toBe(2);
    const run = await expectEveryRowOnce('parallel_events', batchExport.id);
    expect(run.receipt).toMatchObject({ sourceRecords: EVENTS, destinationRecords: EVENTS });
  });
});
