import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDist, distFiles } from '../../src/dev/build';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { useTestStack } from '../helpers/stack';
import { spawnWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

describe('the worker process', () => {
  const stack = useTestStack({ worker: false });
  let running: WorkerProcess | null = null;

  afterAll(async () => {
    running?.child.kill('SIGKILL');
  });

  it('starts with the prebuilt bundle and stops cleanly on SIGTERM', async () => {
    const worker = spawnWorkerProcess(stack);

    expect(await worker.waitFor('Worker started')).toContain('Worker started');
    worker.child.kill('SIGTERM');

    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('Worker stopped');
  });

  it('refuses to start without its configuration, naming what is missing', async () => {
    const worker = spawnWorkerProcess(null, { DATABASE_URL: stack.db.url });

    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('ENCRYPTION_KEY is required');
  });

  // What the Dockerfile runs: `npm run build`, then `node dist/worker.js` with no WORKFLOW_BUNDLE_PATH.
  it('runs exports compiled, finding the workflow bundle built beside it', async () => {
    // Inside dist/ (git-ignored) but not dist/ itself, which a benchmark may be running from.
    const directory = path.resolve(__dirname, `../../dist/test-${randomBytes(4).toString('hex')}`);
    try {
      await buildDist(directory);
      // The JSON lines thread of the compiled worker requires the writer's module beside it.
      const load = createRequire(__filename);
      const writerModule = load(path.join(directory, 'json-lines.js')) as { JsonLinesWriter?: unknown };
      expect(typeof writerModule.JsonLinesWriter).toBe('function');
      const worker = (running = spawnWorkerProcess(
        stack,
        { WORKFLOW_BUNDLE_PATH: undefined },
        distFiles(directory).worker,
      ));
      expect(await worker.waitFor('Worker started')).toContain('Worker started');
      // Loaded, not bundled from source at start-up.
      expect(worker.output()).not.toContain('Workflow bundle created');

      const { teamId } = await createTeam(stack.db.pool);
      await insertEvents(stack.db.pool, [
        makeEvent(teamId, '2024-09-01T10:10:00Z'),
        makeEvent(teamId, '2024-09-01T10:20:00Z'),
      ]);
      const noop = await createBatchExport(stack.services, teamId, {
        name: 'compiled',
        destination: { type: 'NoOp', config: {} },
        paused: true,
      });
      const { result, run } = await runInterval(
        stack,
        'noop-export',
        intervalInput(noop.id, teamId, '2024-09-01T11:00:00Z'),
      );

      expect(result).toMatchObject({ status: 'Completed', recordsCompleted: 2 });
      expect(run).toMatchObject({ status: 'Completed', records_completed: 2 });
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      running = null;
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 120_000);
});
