import { DateTime } from 'luxon';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { parseInterval } from '../intervals';
import { approximateIntervalCount, hasScheduledInterval, type ScheduleShape } from './intervals';

/** A backfill as the API creates it. Read-only fields some clients send back (status, ...) are ignored. */
export const BackfillRequest = z.object({
  start_at: z.string().nullish(),
  end_at: z.string().nullish(),
  skip_exported: z
    .boolean()
    .nullish()
    .describe(
      'false (default): every interval in the range is exported again and replaces what the destination holds for ' +
        'it. true: intervals an earlier run completed are left alone.',
    ),
});
export type BackfillRequest = z.infer<typeof BackfillRequest>;

export interface BackfillRange {
  /** null: from the export's earliest data. */
  startAt: Date | null;
  endAt: Date;
}

/** A backfill request, checked: its range, and whether intervals an earlier run completed are exported again. */
export interface BackfillPlan extends BackfillRange {
  reexportCompleted: boolean;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const TIMESTAMP_WITH_OFFSET = z.iso.datetime({ offset: true });

/**
 * Checks a backfill request against the export (docs/design.md §7) and returns the range as instants: dates for day
 * and week exports (the boundary at offset_hour in the export's timezone, on offset_day for weeks), date-times with a
 * timezone otherwise; start before end; end not in the future; at least one whole interval in the range, and at most
 * `maxIntervals` (counted by arithmetic: a range from year 0 is refused at once, not walked).
 */
export function parseBackfillRange(
  batchExport: ScheduleShape & { destination: { type: string } },
  body: unknown,
  now: Date,
  maxIntervals: number,
): BackfillPlan {
  const parsed = BackfillRequest.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(issue.message, issue.path.map(String).join('.') || null);
  }
  const { start_at, end_at, skip_exported } = parsed.data;
  if (!end_at) {
    throw new ValidationError(
      `end_at is required: open-ended backfills are not supported for ${batchExport.destination.type} destinations`,
      'end_at',
      'required',
    );
  }
  const endAt = parseBound(batchExport, end_at, 'end_at');
  const startAt = start_at ? parseBound(batchExport, start_at, 'start_at') : null;
  if (startAt && startAt >= endAt) throw new ValidationError('start_at must be before end_at', 'start_at');
  if (endAt > now) {
    throw new ValidationError(
      `end_at ${endAt.toISOString()} is in the future: a backfill only exports intervals that have ended`,
      'end_at',
    );
  }
  if (startAt && !hasScheduledInterval(batchExport, startAt, endAt)) {
    throw new ValidationError(
      `The range from ${startAt.toISOString()} to ${endAt.toISOString()} holds no complete interval of this export (${batchExport.interval})`,
      'end_at',
    );
  }
  const count = startAt ? approximateIntervalCount(batchExport, startAt, endAt) : 0;
  if (count > maxIntervals) {
    throw new ValidationError(
      `This backfill covers ${count.toLocaleString('en-US')} intervals of this export (${batchExport.interval}); ` +
        `at most ${maxIntervals.toLocaleString('en-US')} are allowed (BACKFILL_MAX_INTERVALS): start_at later, ` +
        'or split the range into several backfills',
      'start_at',
      'too_many_intervals',
    );
  }
  return { startAt, endAt, reexportCompleted: skip_exported !== true };
}

function parseBound(batchExport: ScheduleShape, value: string, field: 'start_at' | 'end_at'): Date {
  const definition = parseInterval(batchExport.interval);
  if (definition.kind === 'fixed') {
    if (!TIMESTAMP_WITH_OFFSET.safeParse(value).success) {
      throw new ValidationError(
        `${field} must be a date and time with a timezone, e.g. 2024-01-01T00:00:00Z (got "${value}")`,
        field,
      );
    }
    return new Date(value);
  }
  const day = DATE_ONLY.test(value) ? DateTime.fromISO(value, { zone: batchExport.timezone }) : null;
  if (!day?.isValid) {
    throw new ValidationError(
      `${field} must be a date (YYYY-MM-DD) for a ${definition.unit === 'day' ? 'daily' : 'weekly'} export (got "${value}")`,
      field,
    );
  }
  if (definition.unit === 'week') {
    const offsetDay = batchExport.offset_day ?? 0;
    if (day.weekday % 7 !== offsetDay) {
      throw new ValidationError(
        `${field} must be a ${DAY_NAMES[offsetDay]}: this export's weeks end on ${DAY_NAMES[offsetDay]} (got ${DAY_NAMES[day.weekday % 7]} ${value})`,
        field,
      );
    }
  }
  return day.set({ hour: batchExport.offset_hour ?? 0 }).toJSDate();
}
