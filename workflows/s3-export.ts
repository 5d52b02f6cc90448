import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { insertActivityOptions, runExport } from './export-run';
import type { BatchExportWorkflowInput, BatchExportWorkflowResult } from '../src/temporal/contracts';

const { abortUnfinishedS3Uploads } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

/** Exports one interval of a batch export to S3. Registered as the `s3-export` workflow type. */
export async function s3ExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoS3 } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoS3, { cleanUpAfterFailure: abortUnfinishedS3Uploads });
}
