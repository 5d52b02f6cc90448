import { z } from 'zod';
import { RUN_ORDERINGS } from '../db/runs';
import { DESTINATIONS } from '../destinations';
import { Model } from '../service/schemas';
import { STATUSES } from '../statuses';

/** Request and response schemas of the HTTP API; the OpenAPI document is generated from them. */

const Timestamp = z.iso.datetime();
const QueryTimestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/** Path parameters that are not ids of anything we store make the route 404, like an unknown id. */
export const OrganizationParams = z.object({ organization_id: z.guid() });
export const ProjectParams = z.object({ project_id: z.coerce.number().int().positive() });
export const IdParams = z.object({ id: z.guid().describe('A UUID string identifying this batch export.') });
export const RunParams = z.object({ batch_export_id: z.guid(), id: z.guid().describe('The id of the run.') });
export const ExportParams = z.object({ batch_export_id: z.guid().describe('The BatchExport the runs belong to.') });

export const ApiErrorResponse = z.object({
  type: z.string(),
  code: z.string(),
  detail: z.string().describe('The first problem, as a sentence saying what to fix.'),
  attr: z.string().nullable().describe('The field of the first problem (dotted path), or null.'),
  errors: z
    .array(z.object({ attr: z.string().nullable(), code: z.string(), detail: z.string() }))
    .optional()
    .describe('Validation errors: every problem found, the first one included, unknown fields always among them.'),
});

/** A completed run's completeness receipt; the S3 manifest carries the same. */
export const RunReceiptResponse = z.object({
  source_records: z
    .number()
    .int()
    .nullable()
    .describe('Rows the source held for the interval after deduplication and filters, in the exported snapshot.'),
  records_written: z.number().int(),
  bytes: z.number().int(),
  destination_records: z
    .number()
    .int()
    .nullable()
    .describe("Postgres: the interval's rows the table held after the last commit (the run fails if they differ)."),
  manifest_key: z.string().nullable().describe('S3: the key of the manifest listing the files.'),
  files: z
    .array(z.object({ key: z.string(), records: z.number().int(), bytes: z.number().int(), sha256: z.string().nullable() }))
    .describe('S3: every file of the interval, with its row count, size and hex SHA-256.'),
});

/** How far an export has exported without a gap. */
export const FreshnessResponse = z.object({
  exported_until: Timestamp.nullable().describe(
    'The end of the latest interval exported without a gap since the first completed one; null before any.',
  ),
  lag_seconds: z.number().int().nullable().describe('Seconds from exported_until to now.'),
});

export const RunResponse = z.object({
  id: z.uuid(),
  batch_export_id: z.uuid(),
  status: z.enum(STATUSES),
  data_interval_start: Timestamp.nullable(),
  data_interval_end: Timestamp,
  records_completed: z.number().int().nullable(),
  records_failed: z.number().int().nullable(),
  records_total_count: z
    .number()
    .int()
    .nullable()
    .describe('Rows the source held for the interval (deduplicated, filtered), from the snapshot the run exported.'),
  bytes_exported: z.number().int().nullable(),
  latest_error: z
    .string()
    .nullable()
    .describe(
      'Why the run failed, or while it retries, why its last attempt failed and what that kind of error means.',
    ),
  attempt: z.number().int().nullable().describe('The attempt running now, or the last one that failed while retrying.'),
  next_attempt_at: Timestamp.nullable().describe('While the run waits to retry: when its next attempt starts.'),
  receipt: RunReceiptResponse.nullable().describe('What a completed run exported; null for other runs.'),
  backfill_id: z.uuid().nullable(),
  workflow_id: z.string(),
  created_at: Timestamp,
  finished_at: Timestamp.nullable(),
  last_updated_at: Timestamp,
});

export const BatchExportResponse = z.object({
  id: z.uuid(),
  team_id: z.number().int(),
  name: z.string(),
  model: Model,
  destination: z.object({
    type: z.string(),
    config: z.record(z.string(), z.unknown()).describe('The config without its secret fields, which are write-only.'),
  }),
  interval: z.string(),
  paused: z.boolean(),
  last_paused_at: Timestamp.nullable(),
  paused_by: z.string().nullable(),
  start_at: Timestamp.nullable(),
  end_at: Timestamp.nullable(),
  hogql_query: z.string().nullable(),
  filters: z.unknown(),
  timezone: z.string(),
  offset_day: z.number().int().nullable(),
  offset_hour: z.number().int().nullable(),
  created_at: Timestamp,
  last_updated_at: Timestamp,
  latest_runs: z.array(RunResponse).describe('The most recent runs, newest first.'),
  freshness: FreshnessResponse,
});

export const BatchExportList = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(BatchExportResponse),
});

export const OffsetQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Number of results to return per page.'),
  offset: z.coerce.number().int().min(0).default(0).describe('The initial index from which to return the results.'),
});

/** A comma-separated list of values from `values`. */
function commaList<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .transform((value) => value.split(',').map((item) => item.trim()))
    .pipe(z.array(z.enum(values)));
}

export const RunsQuery = z.object({
  cursor: z.string().optional().describe('The pagination cursor value.'),
  ordering: z.enum(RUN_ORDERINGS).default('-created_at').describe('Which field to use when ordering the results.'),
  status: commaList(STATUSES).optional().describe('Only runs with one of these statuses (comma-separated).'),
  after: QueryTimestamp.optional().describe('Only runs whose data interval ends at or after this time.'),
  before: QueryTimestamp.optional().describe('Only runs whose data interval ends before this time.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const RunList = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(RunResponse),
});

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export const LogLevel = z.enum(LOG_LEVELS);

export const LogsQuery = z.object({
  level: commaList(LOG_LEVELS).optional().describe('Only these levels (comma-separated), e.g. ERROR,WARNING.'),
  search: z.string().min(1).max(1000).optional().describe('Only entries whose message contains this text.'),
  instance_id: z.guid().optional().describe('Only entries of this run or backfill.'),
  after: QueryTimestamp.optional(),
  before: QueryTimestamp.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const LogEntryResponse = z.object({
  team_id: z.number().int(),
  batch_export_id: z.uuid(),
  instance_id: z.uuid().nullable().describe('The run or backfill that wrote the entry.'),
  run_id: z.uuid().nullable(),
  backfill_id: z.uuid().nullable(),
  timestamp: Timestamp,
  level: LogLevel,
  message: z.string(),
});

export const LogList = z.object({ results: z.array(LogEntryResponse) });

/** Optional: an unpause without a body (null to fastify) is an unpause without a backfill. */
export const UnpauseBody = z
  .strictObject({ backfill: z.boolean().default(false).describe('Also backfill the intervals missed while paused.') })
  .nullish();

export const TestStepsQuery = z.object({
  destination: z.enum(Object.keys(DESTINATIONS) as [string, ...string[]]).describe('The destination type.'),
});

export const TestStepsResponse = z.object({
  steps: z.array(z.object({ name: z.string(), description: z.string() })),
});

export const TestStepResponse = z.object({
  name: z.string(),
  description: z.string(),
  result: z.object({ status: z.enum(['Passed', 'Failed']), message: z.string().nullable() }),
});
