import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistories, replayOnCurrentCode } from '../helpers/replay-histories';

/**
 * Histories recorded by the backfill workflow before it recorded its workflow runs (commit d0715c4): two hours per
 * workflow run over five hours (continued as new twice), a range without data, and a backfill cancelled in its second
 * workflow run. Backfills running when a worker is upgraded carry such histories: the new code must replay them.
 */
const HISTORIES = path.join(__dirname, '../fixtures/backfill-histories');

describe('backfill histories of earlier versions', () => {
  it('replay on the current workflow code without a nondeterminism error', async () => {
    const histories = await readHistories(HISTORIES);
    const files = histories.map(({ workflowId }) => workflowId);
    expect(files).toHaveLength(6);
    const replayed = await replayOnCurrentCode(histories);
    expect(replayed).toEqual(files.map((file) => ({ file, error: undefined })));
  });
});
