import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam } from '../helpers/fixtures';
import { createPostgresExport, insertAttempts, runPostgresInterval } from '../helpers/postgres-exports';
import { intervalInput } from '../helpers/s3-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

const EVENTS = 20_000;
const BATCH_ROWS = 200;

describe('the progress of a Postgres export', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: String(BATCH_ROWS) } });
  let destination: DestinationDatabase;
  let teamId: number;
  let workerProcess: WorkerProcess | undefined;

  beforeAll(async () => {
    // No worker in this process until a test starts one: the first may be a child process the test kills.
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    await insertPageviews(stack.db.pool, teamId, EVENTS, '2024-09-01 10:00:00+00', 100);
    // Every INSERT into an exported table (one per batch) logs the rows it added; each takes `delay` seconds.
    await destination.pool.query(`
      CREATE TABLE inserts (tbl text, added int);
      CREATE TABLE delays (tbl text PRIMARY KEY, seconds float8);
      CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO inserts SELECT TG_TABLE_NAME, count(*) FROM added;
        PERFORM pg_sleep(coalesce((SELECT seconds FROM delays WHERE tbl = TG_TABLE_NAME), 0));
        RETURN NULL;
      END $$;
    `);
  });

  afterAll(async () => {
    workerProcess?.child.kill('SIGKILL');
    await destination?.drop();
  });

  async function loggedTable(name: string, delaySeconds: number): Promise<void> {
    await destination.pool.query(`
      CREATE TABLE ${name} (uuid uuid, event text, "timestamp" timestamptz);
      CREATE TRIGGER log_insert AFTER INSERT ON ${name} REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION log_insert();
      INSERT INTO delays VALUES ('${name}', ${delaySeconds});
    `);
  }

  async function inserts(table: string): Promise<number[]> {
    const { rows } = await destination.pool.query<{ added: number }>('SELECT added FROM inserts WHERE tbl = $1', [
      table,
    ]);
    return rows.map((row) => row.added);
  }

  async function exportedRows(table: string): Promise<{ n: number; distinct: number }> {
    const { rows } = await destination.pool.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS distinct FROM ${table}`,
    );
    return rows[0]!;
  }

  it('redoes at most one batch after its worker is killed', async () => {
    await loggedTable('killed', 0.05);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'killed' });
    const first = (workerProcess = spawnWorkerProcess(stack));
    const workflowId = `${batchExport.id}-kill`;
    const handle = await stack.temporal.workflow.start('postgres-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      // 10 s: the SDK sends at most one heartbeat per 8 s, so the server's last heartbeat is batches behind the kill.
      args: [
        intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z', {
          heartbeatTimeoutSeconds: 10,
          initialIntervalSeconds: 1,
          maximumAttempts: 5,
        }),
      ],
    });
    for (let i = 0; i < 1200 && (await inserts('killed')).length < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const committed = (await inserts('killed')).length;
    expect(committed).toBeGreaterThanOrEqual(20);
    expect(committed).toBeLessThan(EVENTS / BATCH_ROWS);
    const second = await stack.startWorker();
    const result = await handle.result();
    await second.stop();

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    expect(await exportedRows('killed')).toEqual({ n: EVENTS, distinct: EVENTS });
    // A batch written again adds no rows (they are all there): at most one, committed as the worker died.
    const added = await inserts('killed');
    expect(added.filter((rows) => rows === 0).length).toBeLessThanOrEqual(1);
    expect(added.filter((rows) => rows > 0)).toHaveLength(EVENTS / BATCH_ROWS);
  }, 300_000);

  it('keeps a healthy attempt alive while a batch takes longer than the heartbeat timeout', async () => {
    // Each batch takes 3 s against a 2 s heartbeat timeout: only heartbeats between commits keep the attempt alive.
    await loggedTable('slow', 3);
    const { teamId: slowTeam } = await createTeam(stack.db.pool, 'Slow');
    await insertPageviews(stack.db.pool, slowTeam, 1_000, '2024-09-02 10:00:00+00', 1_000);
    const batchExport = await createPostgresExport(stack, slowTeam, destination, { table_name: 'slow' });
    const worker = await stack.startWorker();
    const { run } = await runPostgresInterval(stack, slowTeam, batchExport.id, '2024-09-02T11:00:00Z', {
      heartbeatTimeoutSeconds: 2,
      initialIntervalSeconds: 1,
      maximumAttempts: 3,
    });
    await worker.stop();

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1_000 });
    expect(await insertAttempts(stack, `${batchExport.id}-2024-09-02T11:00:00Z`)).toEqual([1]);
    expect(await inserts('slow')).toEqual(Array(5).fill(BATCH_ROWS));
  }, 300_000);
});
