import { DateTime } from 'luxon';
import { dataIntervalStart, localTimesOn, parseInterval } from '../intervals';

/**
 * The intervals a backfill runs: exactly the times the export's schedule fires (src/temporal/schedules.ts), each with
 * the data interval the export workflow derives from it. Pure (luxon only), so the API, activities and tests share
 * one answer.
 *
 * - `hour` / `every N minutes` are Temporal interval specs: they fire at every multiple of the interval since the
 *   Unix epoch, whatever the timezone.
 * - `day` / `week` are Temporal calendar specs in the export's timezone at `offset_hour` (and `offset_day`, 0 =
 *   Sunday). Like Temporal's calendar matching, a local time that a DST change skips does not fire that day, and a
 *   local time that a DST change repeats fires twice.
 */
export interface ScheduleShape {
  interval: string;
  timezone: string;
  offset_hour: number | null;
  offset_day: number | null;
  /** The export's own bounds: its schedule fires nothing before start_at or after end_at. */
  start_at?: Date | null;
  end_at?: Date | null;
}

export interface DataInterval {
  start: Date;
  end: Date;
}

const WEEK_DAYS = 7;

/**
 * The schedule's intervals whose end is in (after, until], oldest first. A range edge that is not on an interval
 * boundary rounds outward at the start (the interval holding `after` is included) and inward at the end (an interval
 * ending after `until` is not).
 */
export function* scheduledIntervals(shape: ScheduleShape, after: Date, until: Date): Generator<DataInterval> {
  const { from, last } = searchBounds(shape, after, until);
  for (const end of fireTimes(shape, from)) {
    if (end > last) return;
    yield { start: dataIntervalStart(end, shape.interval, shape.timezone), end };
  }
}

/**
 * How many intervals `scheduledIntervals` yields, exactly. Arithmetic for hour and minute intervals; day and week
 * intervals are walked a day at a time (DST changes decide), so the API bounds a range with
 * `approximateIntervalCount` before anything walks it.
 */
export function countScheduledIntervals(shape: ScheduleShape, after: Date, until: Date): number {
  const { from, last } = searchBounds(shape, after, until);
  const definition = parseInterval(shape.interval);
  if (definition.kind === 'fixed') return fixedFiringsBetween(definition.milliseconds, from, last);
  let count = 0;
  const intervals = scheduledIntervals(shape, after, until);
  while (!intervals.next().done) count++;
  return count;
}

/**
 * `countScheduledIntervals` in constant time, for checking a request against a limit: exact for hour and minute
 * intervals; for day and week intervals it counts calendar days, so each DST change in the range that skips or
 * repeats the export's hour makes it one off.
 */
export function approximateIntervalCount(shape: ScheduleShape, after: Date, until: Date): number {
  const { from, last } = searchBounds(shape, after, until);
  const definition = parseInterval(shape.interval);
  if (definition.kind === 'fixed') return fixedFiringsBetween(definition.milliseconds, from, last);
  const first = fireTimes(shape, from).next().value as Date;
  if (first > last) return 0;
  // The last firing at or before `last` starts the interval that holds it.
  const lastFiring = intervalContaining(shape, last).start;
  const day = (date: Date) => DateTime.fromJSDate(date, { zone: shape.timezone }).startOf('day');
  const days = Math.round(day(lastFiring).diff(day(first), 'days').days);
  return 1 + Math.floor(days / (definition.unit === 'week' ? WEEK_DAYS : 1));
}

/** Whether the range holds at least one interval, without counting them. */
export function hasScheduledInterval(shape: ScheduleShape, after: Date, until: Date): boolean {
  return !scheduledIntervals(shape, after, until).next().done;
}

/** Firings are searched in (from, last]: the range narrowed to the export's own start_at and end_at. */
function searchBounds(shape: ScheduleShape, after: Date, until: Date): { from: Date; last: Date } {
  const last = shape.end_at && shape.end_at < until ? shape.end_at : until;
  // The schedule fires at start_at itself, so search from just before it.
  const from = shape.start_at ? Math.max(after.getTime(), shape.start_at.getTime() - 1) : after.getTime();
  return { from: new Date(from), last };
}

/** Multiples of `step` since the epoch in (from, last]. */
function fixedFiringsBetween(step: number, from: Date, last: Date): number {
  return Math.max(0, Math.floor(last.getTime() / step) - Math.floor(from.getTime() / step));
}

/** The schedule's interval that holds `at` (start <= at < end, the first firing after `at`). */
export function intervalContaining(shape: ScheduleShape, at: Date): DataInterval {
  const end = fireTimes(shape, at).next().value as Date;
  return { start: dataIntervalStart(end, shape.interval, shape.timezone), end };
}

/** Fire times strictly after `after`, forever. */
function* fireTimes(shape: ScheduleShape, after: Date): Generator<Date> {
  const definition = parseInterval(shape.interval);
  if (definition.kind === 'fixed') {
    const step = definition.milliseconds;
    for (let time = (Math.floor(after.getTime() / step) + 1) * step; ; time += step) yield new Date(time);
  }
  const hour = shape.offset_hour ?? 0;
  // Luxon numbers weekdays 1 (Monday) to 7 (Sunday); offset_day counts from 0 = Sunday.
  const weekday = definition.unit === 'week' ? (shape.offset_day ?? 0) % WEEK_DAYS || WEEK_DAYS : null;
  // Start a day early: in a timezone behind UTC, the local day of `after` may hold a firing before it.
  let day = DateTime.fromJSDate(after, { zone: shape.timezone }).startOf('day').minus({ days: 1 });
  if (!day.isValid) throw new RangeError(`Invalid timezone "${shape.timezone}"`);
  for (;;) {
    if (weekday === null || day.weekday === weekday) {
      for (const time of localTimesOn(day, { hour })) {
        if (time > after) yield time;
      }
    }
    day = day.plus({ days: 1 });
  }
}
