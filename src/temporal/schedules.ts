import { ScheduleOverlapPolicy, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import type { Config } from '../config';
import type { BatchExportRecord } from '../db/batch-exports';
import { isSupportedDestination } from '../destinations';
import { parseInterval } from '../intervals';
import { EXPORT_WORKFLOW_TYPE, type BatchExportWorkflowInput } from './contracts';
import { scheduledRunUiOptions } from '../temporal-ui/search-attributes';

const DAYS_OF_WEEK = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;

// Jitter spreads many exports' runs over a few seconds instead of one instant. It delays the start only: the data
// interval comes from the nominal time. Capped well below the shortest interval.
const MAX_JITTER_MS = 30_000;

/** When the export runs: interval specs for hour / every N minutes, calendar specs in its timezone for day / week. */
export function scheduleSpec(
  batchExport: Pick<BatchExportRecord, 'interval' | 'timezone' | 'offset_day' | 'offset_hour' | 'start_at' | 'end_at'>,
): ScheduleSpec {
  const definition = parseInterval(batchExport.interval);
  const bounds = { startAt: batchExport.start_at ?? undefined, endAt: batchExport.end_at ?? undefined };
  if (definition.kind === 'fixed') {
    return {
      intervals: [{ every: definition.milliseconds }],
      jitter: Math.min(MAX_JITTER_MS, definition.milliseconds / 20),
      ...bounds,
    };
  }
  const hour = batchExport.offset_hour ?? 0;
  return {
    calendars: [
      definition.unit === 'day'
        ? { hour, minute: 0, second: 0 }
        : { dayOfWeek: DAYS_OF_WEEK[batchExport.offset_day ?? 0], hour, minute: 0, second: 0 },
    ],
    timezone: batchExport.timezone,
    jitter: MAX_JITTER_MS,
    ...bounds,
  };
}

/** The workflow an export of this destination type runs: one for all of them, EXPORT_WORKFLOW_TYPE. */
export function workflowTypeFor(destinationType: string): string {
  if (!isSupportedDestination(destinationType)) {
    throw new Error(`No export workflow exists for destination type ${destinationType}`);
  }
  return EXPORT_WORKFLOW_TYPE;
}

/**
 * The task queue an export's scheduled runs and backfills start on: its own (DEDICATED_TASK_QUEUES) when it has one,
 * so that only the workers serving that queue, with their concurrency and rate limits, ever load its destination.
 */
export function taskQueueFor(
  temporal: Pick<Config['temporal'], 'taskQueue' | 'dedicatedQueues'>,
  batchExport: Pick<BatchExportRecord, 'id' | 'team_id'>,
): string {
  const { byExport, byTeam } = temporal.dedicatedQueues;
  return byExport[batchExport.id.toLowerCase()] ?? byTeam[String(batchExport.team_id)] ?? temporal.taskQueue;
}

/** The export's whole schedule. Schedule id = export id; runs are `{export id}-{interval end}Z` in the UI. */
export function scheduleOptions(
  batchExport: BatchExportRecord,
  options: { taskQueue: string; catchupWindowSeconds: number; note?: string },
): ScheduleOptions {
  const input: BatchExportWorkflowInput = {
    batchExportId: batchExport.id,
    teamId: batchExport.team_id,
    interval: batchExport.interval,
    timezone: batchExport.timezone,
  };
  return {
    scheduleId: batchExport.id,
    spec: scheduleSpec(batchExport),
    action: {
      type: 'startWorkflow',
      workflowType: workflowTypeFor(batchExport.destination.type),
      workflowId: batchExport.id,
      taskQueue: options.taskQueue,
      args: [input],
      ...scheduledRunUiOptions(batchExport),
    },
    policies: {
      // An interval starts even while the previous one still runs: one slow interval must not delay the rest.
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
      catchupWindow: options.catchupWindowSeconds * 1000,
    },
    state: { paused: batchExport.paused, note: options.note },
  };
}
