import { z } from 'zod';
import { BackfillRequest } from '../backfills/request';
import { validatedByService } from './validation';

/** The schemas of the routes the web console needs beyond the reference's (src/api/routes/console.ts). */

export const ConsoleSession = z.object({
  organization_id: z.uuid(),
  user_email: z.string(),
  label: z.string().describe("The key's label; the key itself is never returned."),
  scopes: z.array(z.string()),
  can_write: z.boolean().describe('Whether the key may change exports (batch_export:write).'),
  projects: z.array(z.object({ id: z.number().int(), name: z.string() })).describe('The projects the key reaches.'),
  temporal_ui: z
    .object({ url: z.string(), namespace: z.string() })
    .nullable()
    .describe("Where runs' workflows are shown (TEMPORAL_UI_URL); null when not configured."),
});

export const RunStatsQuery = z.object({
  hours: z.coerce.number().int().min(1).max(168).default(24).describe('The window: intervals that ended this recently.'),
});

export const RunStatsResponse = z.object({
  since: z.iso.datetime(),
  results: z
    .array(
      z.object({
        batch_export_id: z.uuid(),
        records: z.number().int().describe('Rows written by the completed runs of the window.'),
        completed: z.number().int(),
        failed: z.number().int(),
      }),
    )
    .describe('One entry per export with runs in the window.'),
});

export const BackfillEstimateBody = validatedByService(
  BackfillRequest.describe('The body a backfill would be created with; checked the same way.'),
);

export const BackfillEstimateResponse = z.object({
  start_at: z.iso.datetime().nullable(),
  end_at: z.iso.datetime(),
  intervals: z.number().int().nullable().describe('Intervals the backfill would run; null from the earliest data.'),
  records_per_interval: z.number().int().nullable().describe("Mean rows of the export's latest completed runs."),
  estimated_records: z.number().int().nullable(),
  based_on_runs: z.number().int().describe('How many completed runs the mean is over.'),
});
