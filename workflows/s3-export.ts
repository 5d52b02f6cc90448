import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { INSERT_RETRY_POLICY, runExport } from './export-run';
import type { BatchExportWorkflowInput, BatchExportWorkflowResult } from './types';

const { insertIntoS3 } = proxyActivities<Activities>({
  // An interval may hold many millions of rows; the heartbeat timeout, not this, detects a dead worker.
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  retry: INSERT_RETRY_POLICY,
});

/** Exports one interval of a batch export to S3. Registered as the `s3-export` workflow type. */
export async function s3ExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  return runExport(input, insertIntoS3);
}
