import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

/**
 * Histories recorded by the backfill workflow before it recorded its workflow runs (commit d0715c4): two hours per
 * workflow run over five hours (continued as new twice), a range without data, and a backfill cancelled in its second
 * workflow run. Backfills running when a worker is upgraded carry such histories: the new code must replay them.
 */
const HISTORIES = path.join(__dirname, '../fixtures/backfill-histories');

describe('backfill histories of earlier versions', () => {
  it('replay on the current workflow code without a nondeterminism error', async () => {
    const files = (await readdir(HISTORIES)).filter((file) => file.endsWith('.binpb')).sort();
    expect(files).toHaveLength(6);
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file,
        history: temporal.api.history.v1.History.decode(await readFile(path.join(HISTORIES, file))),
      })),
    );
    const replayed: Array<{ file: string; error: unknown }> = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories,
    )) {
      replayed.push({ file: result.workflowId, error: result.error });
    }
    expect(replayed).toEqual(files.map((file) => ({ file, error: undefined })));
  });
});
