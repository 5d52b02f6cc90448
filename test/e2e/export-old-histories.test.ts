import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistories, replayOnCurrentCode } from '../helpers/replay-histories';

/**
 * Histories recorded by the per-destination export workflows before the one export workflow (commit 12c14bb):
 * `s3-export` completed and failed (its retries ran out, so it aborted unfinished uploads), `postgres-export` and
 * `noop-export` completed. Runs in flight when a worker is upgraded, and schedules created before, carry these
 * workflow and activity types: the new code must replay them.
 */
const HISTORIES = path.join(__dirname, '../fixtures/export-histories');

describe('export workflow histories of earlier versions', () => {
  it('replay on the current workflow code under their old workflow types without a nondeterminism error', async () => {
    const histories = (await readHistories(HISTORIES)).filter(({ workflowId }) => !workflowId.startsWith('batch-'));
    const files = histories.map(({ workflowId }) => workflowId);
    expect(files).toEqual([
      'noop-export-completed.binpb',
      'postgres-export-completed.binpb',
      's3-export-completed.binpb',
      's3-export-failed.binpb',
    ]);
    const workflowTypes = histories.map(
      ({ history }) => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
    );
    expect(workflowTypes).toEqual(['noop-export', 'postgres-export', 's3-export', 's3-export']);
    expect(await replayOnCurrentCode(histories)).toEqual(files.map((file) => ({ file, error: undefined })));
  });

  it('replay for `batch-export` from before and after small intervals were inserted by a local activity', async () => {
    // Recorded on 2ce77e6 (the insert an activity task) and on the change that added the local insert (a patch
    // marker, then the insert a local activity): a run in flight across an upgrade replays the path it took.
    const histories = (await readHistories(HISTORIES)).filter(({ workflowId }) => workflowId.startsWith('batch-'));
    const inserts = histories.map(({ workflowId, history }) => ({
      file: workflowId,
      activities: (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes).length,
      markers: (history.events ?? []).filter((event) => event.markerRecordedEventAttributes).length,
    }));
    expect(inserts).toEqual([
      { file: 'batch-export-s3-completed-locally.binpb', activities: 0, markers: 5 },
      { file: 'batch-export-s3-completed.binpb', activities: 1, markers: 3 },
    ]);
    expect(await replayOnCurrentCode(histories)).toEqual(inserts.map(({ file }) => ({ file, error: undefined })));
  });
});
