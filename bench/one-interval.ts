import { randomUUID } from 'node:crypto';
import { EXPORT_WORKFLOW_TYPE, type BatchExportWorkflowResult } from '../src/temporal/contracts';
import { BENCH_TEAM_ID, type BenchContext } from './context';
import { peakRssMb, resetPeakRss } from './processes';
import { BENCH_INTERVAL } from './seed';

/**
 * Runs the benchmark hour of one (paused) export on a fresh worker, so that the worker's peak memory is this export's
 * alone, and times it from the workflow's start to its result.
 */
export async function timeBenchInterval(
  context: BenchContext,
  batchExportId: string,
): Promise<{ result: BatchExportWorkflowResult; seconds: number; peakRssMb: number }> {
  await context.restartWorker();
  await resetPeakRss(context.worker.pid!);
  const started = performance.now();
  const result: BatchExportWorkflowResult = await context.client.workflow.execute(EXPORT_WORKFLOW_TYPE, {
    taskQueue: context.env.TASK_QUEUE!,
    workflowId: `bench-${randomUUID()}`,
    args: [
      {
        batchExportId,
        teamId: BENCH_TEAM_ID,
        interval: 'hour',
        timezone: 'UTC',
        dataIntervalEnd: BENCH_INTERVAL.end,
      },
    ],
  });
  const seconds = (performance.now() - started) / 1000;
  return { result, seconds, peakRssMb: await peakRssMb(context.worker.pid!) };
}
