import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';

export interface RecordedHistory {
  /** The file it was read from. */
  workflowId: string;
  history: temporal.api.history.v1.History;
}

/** The workflow histories recorded in `dir` (`*.binpb`, binary protobuf as fetchHistory gives them), by file name. */
export async function readHistories(dir: string): Promise<RecordedHistory[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.binpb')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file,
      history: temporal.api.history.v1.History.decode(await readFile(path.join(dir, file))),
    })),
  );
}

/** Replays each history on the test run's workflow bundle; the error is undefined for those that replayed. */
export async function replayOnCurrentCode(
  histories: RecordedHistory[],
): Promise<Array<{ file: string; error: unknown }>> {
  const replayed: Array<{ file: string; error: unknown }> = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: inject('workflowBundlePath') } },
    histories,
  )) {
    replayed.push({ file: result.workflowId, error: result.error });
  }
  return replayed;
}
