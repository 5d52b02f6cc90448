import { randomUUID } from 'node:crypto';
import { listRuns, type RunRecord } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import type {
  BatchExportWorkflowInput,
  BatchExportWorkflowResult,
  InsertActivitySettings,
} from '../../src/temporal/contracts';
import type { DestinationDatabase } from './destination-database';
import type { TestStack } from './stack';

/** Retries short enough for a test: a transient failure is retried once, a second later. */
export const QUICK_RETRIES: InsertActivitySettings = { initialIntervalSeconds: 1, maximumAttempts: 2 };

/** Creates a Postgres export of `model` into `table_name` of the destination database. */
export async function createPostgresExport(
  stack: TestStack,
  teamId: number,
  destination: DestinationDatabase,
  options: {
    model?: string;
    table_name?: string;
    config?: Record<string, unknown>;
    hogql_query?: string;
    filters?: unknown[];
  } = {},
) {
  return createBatchExport(stack.services, teamId, {
    name: `postgres ${randomUUID()}`,
    model: options.model ?? 'events',
    hogql_query: options.hogql_query,
    filters: options.filters,
    destination: {
      type: 'Postgres',
      config: { ...destination.connection, table_name: options.table_name ?? 'exported', ...options.config },
    },
    interval: 'hour',
  });
}

/** Runs the postgres-export workflow for the hour ending at `dataIntervalEnd`; resolves with its run row. */
export async function runPostgresInterval(
  stack: TestStack,
  teamId: number,
  batchExportId: string,
  dataIntervalEnd: string,
  insertActivity: InsertActivitySettings = QUICK_RETRIES,
): Promise<{ result: BatchExportWorkflowResult | null; error: unknown; run: RunRecord }> {
  const input: BatchExportWorkflowInput = {
    batchExportId,
    teamId,
    interval: 'hour',
    timezone: 'UTC',
    dataIntervalEnd,
    insertActivity,
  };
  const workflowId = `${batchExportId}-${dataIntervalEnd}`;
  let result: BatchExportWorkflowResult | null = null;
  let error: unknown = null;
  try {
    result = await stack.temporal.workflow.execute('postgres-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      args: [input],
    });
  } catch (caught) {
    error = caught;
  }
  const runs = await listRuns(stack.db.pool, batchExportId);
  const run = runs.find((candidate) => candidate.workflow_id === workflowId && candidate.finished_at);
  if (!run) throw new Error(`No finished run for ${workflowId}`);
  return { result, error, run };
}

/** The attempts of the insert activity (`insertIntoPostgres` of postgres-export, else `activity`) in a finished workflow's history. */
export async function insertAttempts(
  stack: TestStack,
  workflowId: string,
  activity = 'insertIntoPostgres',
): Promise<number[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const event of history.events ?? []) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '');
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activity) attempts.push(started.attempt ?? 0);
  }
  return attempts;
}
