import { DateTime } from 'luxon';

/**
 * Interval arithmetic shared by schedules, workflows and backfills. Pure (luxon only), so workflow code can import
 * it: it never reads the clock.
 */

export type Interval = 'hour' | 'day' | 'week' | `every ${number} minutes` | 'every 1 minute';

export type IntervalDefinition = { kind: 'fixed'; milliseconds: number } | { kind: 'calendar'; unit: 'day' | 'week' };

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

/**
 * The start of the data interval that ends at `end`: the schedule's previous firing, so that intervals tile. For day
 * and week that is the same local time a day / week before, except around DST changes: like Temporal's calendar
 * specs, a local time a change skips does not fire (the previous firing is a day / week further back) and one it
 * repeats fires twice (the second firing starts at the first, an hour before).
 */
export function dataIntervalStart(end: Date, interval: string, timezone: string): Date {
  const definition = parseInterval(interval);
  if (definition.kind === 'fixed') return new Date(end.getTime() - definition.milliseconds);
  const local = DateTime.fromJSDate(end, { zone: timezone });
  if (!local.isValid) throw new RangeError(`Invalid timezone "${timezone}"`);
  const step = definition.unit === 'day' ? 1 : 7;
  // The same local date first: `end` may be the second firing of a repeated hour.
  for (let days = 0; days <= 2 * step; days += step) {
    const earlier = localTimesOn(local.startOf('day').minus({ days }), local).filter((time) => time < end);
    if (earlier.length > 0) return earlier[earlier.length - 1]!;
  }
  return local.minus({ days: step }).toJSDate();
}

/**
 * Every instant at which the wall clock on `day` shows the time of day of `at`: none when a DST change skips it, two
 * when a change repeats it, one otherwise. Luxon resolves a skipped time forward and a repeated one to one of its
 * copies, so the neighbours an hour away are checked too. Oldest first.
 */
export function localTimesOn(day: DateTime, at: { hour: number; minute?: number; second?: number }): Date[] {
  const time = { hour: at.hour, minute: at.minute ?? 0, second: at.second ?? 0, millisecond: 0 };
  const guess = day.set(time);
  return [guess.minus({ hours: 1 }), guess, guess.plus({ hours: 1 })]
    .filter(
      (candidate) => candidate.hasSame(day, 'day') && candidate.hour === time.hour && candidate.minute === time.minute,
    )
    .map((candidate) => candidate.toJSDate());
}

/** ISO 8601 in UTC with seconds and a Z, as Temporal formats scheduled workflow ids: 2024-01-01T10:00:00Z. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
