import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type {
  BatchExportWorkflowInput,
  BatchExportWorkflowResult,
  InsertActivityInput,
} from '../src/temporal/contracts';
import { insertActivityOptions, runExport } from './export-run';

const cleanUp = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

/**
 * The local insert of a small interval: one attempt (a failure goes on as the insert activity's attempt 2), and a
 * bound on how long it may hold the workflow task; a timeout counts as a failure a retry may mend.
 */
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '5 minutes', retry: { maximumAttempts: 1 } });

/**
 * Exports one interval of a batch export, whatever its destination: the insert activity looks the destination up.
 * Registered as the `batch-export` workflow type (EXPORT_WORKFLOW_TYPE), which schedules and backfills start.
 */
export async function exportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const insert = (insertInput: InsertActivityInput) =>
    proxyActivities<Activities>(insertActivityOptions(input, insertInput.attemptsBefore)).insertIntoDestination(
      insertInput,
    );
  return runExport(input, insert, {
    cleanUpAfterFailure: cleanUp.cleanUpAfterFailedInsert,
    insertLocally: local.insertSmallIntervalLocally,
  });
}

// The per-destination workflow types that came before `batch-export`. Schedules created by an earlier version still
// start them and running histories replay on them, so each keeps scheduling the activities it scheduled then (by
// name: a replayed history must see the same activity types). New destinations add nothing here.

/** Registered as `s3-export`. */
export async function s3ExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoS3 } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoS3, { cleanUpAfterFailure: cleanUp.abortUnfinishedS3Uploads });
}

/** Registered as `postgres-export`. */
export async function postgresExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoPostgres } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoPostgres);
}

/** Registered as `noop-export`. */
export async function noOpExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoNoOp } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoNoOp);
}
