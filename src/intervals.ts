import { DateTime } from 'luxon';

/**
 * Interval arithmetic shared by schedules, workflows and backfills. Pure (luxon only), so workflow code can import
 * it: it never reads the clock.
 */

export type Interval = 'hour' | 'day' | 'week' | `every ${number} minutes` | 'every 1 minute';

export type IntervalDefinition =
  | { kind: 'fixed'; milliseconds: number }
  | { kind: 'calendar'; unit: 'day' | 'week' };

const EVERY_N_MINUTES = /^every (\d+) minutes?$/;

/** Minute intervals must divide an hour, so that runs line up with the hour like the schedule's interval spec. */
const ALLOWED_MINUTES = new Set([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30]);

export function parseInterval(interval: string): IntervalDefinition {
  if (interval === 'hour') return { kind: 'fixed', milliseconds: 3_600_000 };
  if (interval === 'day' || interval === 'week') return { kind: 'calendar', unit: interval };
  const match = EVERY_N_MINUTES.exec(interval);
  const minutes = match ? Number(match[1]) : NaN;
  if (!ALLOWED_MINUTES.has(minutes)) {
    throw new RangeError(
      `Unsupported interval "${interval}": use hour, day, week or "every N minutes" with N one of ${[...ALLOWED_MINUTES].join(', ')}`,
    );
  }
  return { kind: 'fixed', milliseconds: minutes * 60_000 };
}

export function isValidInterval(interval: string): interval is Interval {
  try {
    parseInterval(interval);
    return true;
  } catch {
    return false;
  }
}

/** The start of the data interval that ends at `end`, calendar-aware (DST-correct) for day and week. */
export function dataIntervalStart(end: Date, interval: string, timezone: string): Date {
  const definition = parseInterval(interval);
  if (definition.kind === 'fixed') return new Date(end.getTime() - definition.milliseconds);
  const local = DateTime.fromJSDate(end, { zone: timezone });
  if (!local.isValid) throw new RangeError(`Invalid timezone "${timezone}"`);
  return local.minus(definition.unit === 'day' ? { days: 1 } : { weeks: 1 }).toJSDate();
}

/** ISO 8601 in UTC with seconds and a Z, as Temporal formats scheduled workflow ids: 2024-01-01T10:00:00Z. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isValidTimezone(timezone: string): boolean {
  return DateTime.fromMillis(0).setZone(timezone).isValid;
}
