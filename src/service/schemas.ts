import { z } from 'zod';
import { DESTINATIONS, isSupportedDestination } from '../destinations';
import { HogQLError, validateHogQL } from '../models/hogql';
import { isValidInterval, parseInterval } from '../intervals';
import { isValidTimezone } from '../timezones';
import { PropertyFilters } from '../models/filters';
import { MODEL_NAMES, MODELS } from '../models/registry';

export const Model = z.enum(MODEL_NAMES);

const Timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

export const DestinationInput = z.strictObject({
  type: z.string(),
  config: z.record(z.string(), z.unknown()).default({}),
});

/**
 * The destination with its config checked by its type's schema (defaults filled in). A field of its own, so that its
 * problems are reported whatever else is wrong with the export.
 */
const CheckedDestination = DestinationInput.transform((destination, ctx) => {
  const { type } = destination;
  if (!isSupportedDestination(type)) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `Destination type "${type}" is not supported: use one of ${Object.keys(DESTINATIONS).join(', ')}`,
    });
    return z.NEVER;
  }
  const config = DESTINATIONS[type].configSchema.safeParse(destination.config);
  if (!config.success) {
    for (const issue of config.error.issues) {
      ctx.addIssue({ ...issue, path: ['config', ...issue.path] } as z.core.$ZodRawIssue);
    }
    return z.NEVER;
  }
  return { type, config: config.data as Record<string, unknown> };
});

/** A batch export as the API and CLI create it. The destination config is validated by its type's schema. */
export const BatchExportInput = z
  .strictObject({
    name: z.string().trim().min(1).max(255),
    model: Model.default('events'),
    destination: CheckedDestination,
    interval: z
      .string()
      .default('hour')
      .refine(isValidInterval, {
        error: (issue) =>
          `Unsupported interval "${String(issue.input)}": use hour, day, week or "every N minutes" (N = 1, 5, 15, ...)`,
      }),
    paused: z.boolean().default(false),
    start_at: Timestamp.nullish(),
    end_at: Timestamp.nullish(),
    hogql_query: z.string().max(10_000).nullish(),
    filters: PropertyFilters.nullish(),
    timezone: z
      .string()
      .default('UTC')
      .refine(isValidTimezone, {
        error: (issue) =>
          `Unknown timezone "${String(issue.input)}": use an IANA name, spelled exactly (e.g. UTC, Europe/Berlin)`,
      }),
    offset_day: z.number().int().min(0).max(6).nullish(),
    offset_hour: z.number().int().min(0).max(23).nullish(),
  })
  .superRefine((input, ctx) => {
    if (input.hogql_query) {
      const problem = hogqlProblem(input.hogql_query, input.model);
      if (problem) ctx.addIssue({ code: 'custom', path: ['hogql_query'], message: problem });
    }
    const definition = isValidInterval(input.interval) ? parseInterval(input.interval) : null;
    if (input.offset_hour != null && definition?.kind !== 'calendar') {
      ctx.addIssue({
        code: 'custom',
        path: ['offset_hour'],
        message: 'offset_hour applies to day and week intervals only',
      });
    }
    if (input.offset_day != null && !(definition?.kind === 'calendar' && definition.unit === 'week')) {
      ctx.addIssue({ code: 'custom', path: ['offset_day'], message: 'offset_day applies to week intervals only' });
    }
    if (input.start_at && input.end_at && input.start_at >= input.end_at) {
      ctx.addIssue({ code: 'custom', path: ['end_at'], message: 'end_at must be after start_at' });
    }
  });
export type BatchExportInput = z.output<typeof BatchExportInput>;

/** Why a hogql_query cannot be exported, or null when it can. */
function hogqlProblem(query: string, model: z.infer<typeof Model>): string | null {
  if (!MODELS[model].hogql) return `hogql_query selects from events: it cannot be used with the ${model} model`;
  try {
    validateHogQL(query);
    return null;
  } catch (error) {
    if (error instanceof HogQLError) return error.message;
    throw error;
  }
}
