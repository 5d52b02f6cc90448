import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpExportProgress } from '../../src/destinations/http/write-interval';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam } from '../helpers/fixtures';
import { acceptedRows, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver';
import { intervalInput } from '../helpers/s3-exports';
import { insertPageviews } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';
import { lastHeartbeat, spawnWorkerProcess } from '../helpers/worker-process';

const EVENTS = 12_000;
const BATCH_ROWS = 100;

describe('an HTTP export whose worker is killed mid-interval', () => {
  const stack = useTestStack({ worker: false, env: { SOURCE_BATCH_SIZE: '500' } });
  let receiver: HttpReceiver;
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
    await insertPageviews(stack.db.pool, teamId, EVENTS, '2024-09-01 10:00:00+00', 100);
    receiver = await startHttpReceiver();
    // Each batch takes at least 40 ms to be acknowledged, so that the kill lands while the interval is being sent.
    receiver.delayMs = 40;
  });

  afterAll(async () => {
    await receiver?.close();
  });

  it('resumes on another worker after the acknowledged batches: every row once, at most one batch replayed', async () => {
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: `http ${randomUUID()}`,
      destination: {
        type: 'HTTP',
        config: { url: receiver.url, token: 'a-token', max_batch_rows: BATCH_ROWS, compression: 'gzip' },
      },
    });
    const first = spawnWorkerProcess(stack);
    // A dead worker is noticed after 2 s without a heartbeat.
    const input = intervalInput(batchExport.id, teamId, '2024-09-01T11:00:00Z', {
      heartbeatTimeoutSeconds: 2,
      initialIntervalSeconds: 1,
      maximumAttempts: 5,
    });
    const handle = await stack.temporal.workflow.start('batch-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `${batchExport.id}-kill`,
      args: [input],
    });

    let heartbeated: HttpExportProgress | null = null;
    for (let i = 0; i < 600 && !heartbeated?.batches; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      heartbeated = await lastHeartbeat<HttpExportProgress>(handle);
    }
    expect(heartbeated?.batches).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exited;
    const before = receiver.accepted.size;
    expect(before).toBeLessThan(EVENTS / BATCH_ROWS);
    const second = await stack.startWorker();
    const result = await handle.result();
    await second.stop();

    expect(result).toMatchObject({ status: 'Completed', recordsCompleted: EVENTS });
    const batches = EVENTS / BATCH_ROWS;
    const keys = receiver.requests.map((request) => request.key!);
    expect([...receiver.accepted.keys()]).toEqual(
      Array.from(
        { length: batches },
        (_, i) => `${batchExport.id}:2024-09-01T10:00:00.000Z-2024-09-01T11:00:00.000Z:${i + 1}`,
      ),
    );
    // The batch in flight when the worker died may come again, under the same key and with the same rows.
    const replays = keys.filter((key, i) => keys.indexOf(key) !== i);
    expect(replays.length).toBeLessThanOrEqual(1);
    for (const key of replays) {
      const bodies = receiver.requests.filter((request) => request.key === key).map((request) => request.body);
      expect(new Set(bodies).size).toBe(1);
    }
    const uuids = acceptedRows(receiver, 'capture').map((row) => row.uuid);
    expect(uuids).toHaveLength(EVENTS);
    expect(new Set(uuids).size).toBe(EVENTS);
    const { rows: source } = await stack.db.pool.query<{ n: number }>(
      'SELECT count(DISTINCT uuid)::int AS n FROM events WHERE team_id = $1 AND uuid = ANY($2::uuid[])',
      [teamId, uuids],
    );
    expect(source[0]!.n).toBe(EVENTS);

    const [run] = await listRuns(stack.db.pool, batchExport.id);
    expect(run).toMatchObject({ status: 'Completed', records_completed: EVENTS });
    expect(run!.receipt).toMatchObject({ sourceRecords: EVENTS, recordsWritten: EVENTS });
    const { rows: logs } = await stack.db.pool.query<{ message: string }>(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND message LIKE 'Resuming after%'`,
      [run!.id],
    );
    expect(Number(/Resuming after (\d+) batches/.exec(logs[0]?.message ?? '')?.[1])).toBeGreaterThan(0);
  });
});
