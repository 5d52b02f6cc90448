import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { insertActivityOptions, runExport } from './export-run';
import type { BatchExportWorkflowInput, BatchExportWorkflowResult } from '../src/temporal/contracts';

/** Reads one interval of a batch export and discards it. Registered as the `noop-export` workflow type. */
export async function noOpExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoNoOp } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoNoOp);
}
