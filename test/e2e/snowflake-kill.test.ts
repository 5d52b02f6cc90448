import { beforeAll, describe, expect, it } from 'vitest';
import type { CursorProgress } from '../../src/destinations/batched-interval';
import { listRuns } from '../../src/db/runs';
import { createTeam } from '../helpers/fixtures';
import { intervalInput } from '../helpers/s3-exports';
import {
  createSnowflakeExport,
  SNOWFLAKE_DATABASE as DATABASE,
  SNOWFLAKE_SCHEMA as SCHEMA,
  useFakesnow,
} from '../helpers/snowflake-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';
import { killWithChildren, lastHeartbeat, spawnWorkerProcess } from '../helpers/worker-process';

const EVENTS = 3_000;

describe('a Snowflake export whose worker is killed mid-interval', () => {
  // 30 batches of 100 rows: fakesnow runs each bound row on its own, so a batch takes long enough to kill between.
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '100' } });
  const server = useFakesnow();
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
    await insertPageviews(stack.db.pool, teamId, EVENTS, '2024-09-01 10:00:00+00', 100);
  });

  it('resumes on another worker after the merged batches and completes with every row exactly once', async () => {
    const batchExport = await createSnowflakeExport(stack, teamId, server, { config: { table_name: 'killed' } });
    const first = spawnWorkerProcess(stack);
    const input = intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z', {
      // A dead worker is noticed after 2 s without a heartbeat.
      heartbeatTimeoutSeconds: 2,
      initialIntervalSeconds: 1,
      maximumAttempts: 5,
    });
    const handle = await stack.temporal.workflow.start('batch-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-kill`,
      args: [input],
    });

    // Kill the worker once the server holds a heartbeat of merged batches.
    let heartbeated: CursorProgress | null = null;
    for (let i = 0; i < 1200 && !heartbeated?.records; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      heartbeated = await lastHeartbeat<CursorProgress>(handle);
    }
    expect(heartbeated?.records).toBeGreaterThan(0);
    killWithChildren(first.child.pid!);
    await first.exited;
    const [before] = await server.query(DATABASE, SCHEMA, 'SELECT count(*) AS "n" FROM "killed"');
    expect(before!.n).toBeLessThan(EVENTS);
    const second = await stack.startWorker();

    const result = await handle.result();
    await second.stop();

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    expect(
      await server.query(
        DATABASE,
        SCHEMA,
        'SELECT count(*) AS "n", count(DISTINCT "uuid") AS "distinct", count_if("uuid" IS NULL) AS "nulls" FROM "killed"',
      ),
    ).toEqual([{ n: EVENTS, distinct: EVENTS, nulls: 0 }]);
    const [run] = await listRuns(stack.db.pool, batchExport.id);
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS });
    expect(run!.receipt).toMatchObject({ sourceRecords: EVENTS, recordsWritten: EVENTS, destinationRecords: EVENTS });
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND message LIKE 'Resuming after%'`,
      [run!.id],
    );
    // The second attempt continued after what the first one merged, instead of starting over.
    expect(Number(/Resuming after (\d+) records/.exec(logs[0]?.message ?? '')?.[1])).toBeGreaterThan(0);
  });
});
