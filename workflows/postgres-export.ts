import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { insertActivityOptions, runExport } from './export-run';
import type { BatchExportWorkflowInput, BatchExportWorkflowResult } from '../src/temporal/contracts';

/** Exports one interval of a batch export to a Postgres table. Registered as the `postgres-export` workflow type. */
export async function postgresExportWorkflow(input: BatchExportWorkflowInput): Promise<BatchExportWorkflowResult> {
  const { insertIntoPostgres } = proxyActivities<Activities>(insertActivityOptions(input));
  return runExport(input, insertIntoPostgres);
}
