import { z } from 'zod';
import { BackfillRequest } from '../backfills/request';
import { BACKFILL_ORDERINGS } from '../db/backfills';
import { STATUSES } from '../statuses';
import { validatedByService } from './validation';

/** The request and response schemas of the backfill routes (src/api/routes/backfills.ts). */

const Timestamp = z.iso.datetime();

export const BackfillParams = z.object({
  batch_export_id: z.guid().describe('The BatchExport this backfill belongs to.'),
  id: z.guid().describe('A UUID string identifying this batch export backfill.'),
});

export const BackfillBody = validatedByService(
  BackfillRequest.describe(
    'start_at / end_at: dates (YYYY-MM-DD) for day and week exports, date-times with a timezone otherwise. end_at is ' +
      'required and not in the future; start_at may be left out to start from the earliest data.',
  ),
);

export const BackfillCreated = z.object({ backfill_id: z.uuid() });

export const BackfillResponse = z.object({
  id: z.uuid(),
  team_id: z.number().int(),
  batch_export_id: z.uuid(),
  start_at: Timestamp.nullable().describe('The start of the data interval; null = from the earliest data.'),
  end_at: Timestamp.nullable().describe('The end of the data interval.'),
  status: z.enum(STATUSES),
  created_at: Timestamp,
  finished_at: Timestamp.nullable(),
  last_updated_at: Timestamp,
  total_records_count: z.number().int().nullable().describe('Estimated while running; exported when finished.'),
  adjusted_start_at: Timestamp.nullable().describe('The start of the first interval that has data.'),
  workflow_id: z.string().nullable(),
  workflow_runs_count: z
    .number()
    .int()
    .describe('Temporal workflow runs so far: it continues as new every so many intervals (see workflow_runs).'),
  current_workflow_run_id: z.string().nullable().describe("Temporal's run id of the latest workflow run."),
  latest_error: z.string().nullable(),
  failed_intervals: z.array(
    z.object({
      data_interval_start: z.string().nullable(),
      data_interval_end: z.string(),
      error: z.string().nullable(),
    }),
  ),
  progress: z.object({
    total_runs: z.number().int().nullable(),
    finished_runs: z.number().int(),
    progress: z.number().min(0).max(1).nullable().describe('finished_runs / total_runs; null until estimated.'),
  }),
});

export const BackfillList = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(BackfillResponse),
});

export const BackfillsQuery = z.object({
  cursor: z.string().optional().describe('The pagination cursor value.'),
  ordering: z.enum(BACKFILL_ORDERINGS).default('-created_at').describe('Which field to use when ordering the results.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
