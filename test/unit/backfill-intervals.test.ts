import { describe, expect, it } from 'vitest';
import {
  approximateIntervalCount,
  countScheduledIntervals,
  hasScheduledInterval,
  intervalContaining,
  scheduledIntervals,
  type ScheduleShape,
} from '../../src/backfills/intervals';

function shape(overrides: Partial<ScheduleShape>): ScheduleShape {
  return { interval: 'hour', timezone: 'UTC', offset_hour: null, offset_day: null, ...overrides };
}

function list(schedule: ScheduleShape, after: string, until: string): Array<[string, string]> {
  return [...scheduledIntervals(schedule, new Date(after), new Date(until))].map((interval) => [
    interval.start.toISOString(),
    interval.end.toISOString(),
  ]);
}

const hours = (interval: [string, string]) => (Date.parse(interval[1]) - Date.parse(interval[0])) / 3_600_000;

describe('backfill intervals', () => {
  it('splits two days into 48 contiguous hourly intervals', () => {
    const intervals = list(shape({}), '2024-05-01T00:00:00Z', '2024-05-03T00:00:00Z');

    expect(intervals).toHaveLength(48);
    expect(intervals[0]).toEqual(['2024-05-01T00:00:00.000Z', '2024-05-01T01:00:00.000Z']);
    expect(intervals[47]).toEqual(['2024-05-02T23:00:00.000Z', '2024-05-03T00:00:00.000Z']);
    intervals.slice(1).forEach((interval, index) => expect(interval[0]).toBe(intervals[index]![1]));
  });

  it('includes the interval holding an unaligned start and leaves out one that ends after the end', () => {
    expect(list(shape({}), '2024-05-01T10:30:00Z', '2024-05-01T13:30:00Z')).toEqual([
      ['2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z'],
      ['2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z'],
      ['2024-05-01T12:00:00.000Z', '2024-05-01T13:00:00.000Z'],
    ]);
  });

  it('aligns hourly intervals to UTC hours even in a timezone 45 minutes off the hour', () => {
    const intervals = list(shape({ timezone: 'Asia/Kathmandu' }), '2024-05-01T00:00:00Z', '2024-05-01T02:00:00Z');
    expect(intervals.map((interval) => interval[1])).toEqual(['2024-05-01T01:00:00.000Z', '2024-05-01T02:00:00.000Z']);
  });

  it('aligns "every 15 minutes" to the epoch', () => {
    const intervals = list(shape({ interval: 'every 15 minutes' }), '2024-05-01T10:07:00Z', '2024-05-01T11:00:00Z');
    expect(intervals.map((interval) => interval[1].slice(11, 16))).toEqual(['10:15', '10:30', '10:45', '11:00']);
    expect(intervals[0]![0]).toBe('2024-05-01T10:00:00.000Z');
  });

  it('gives America/New_York a 23-hour day when clocks spring forward', () => {
    const intervals = list(
      shape({ interval: 'day', timezone: 'America/New_York' }),
      '2024-03-09T05:00:00Z',
      '2024-03-12T04:00:00Z',
    );
    expect(intervals).toEqual([
      ['2024-03-09T05:00:00.000Z', '2024-03-10T05:00:00.000Z'],
      ['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z'],
      ['2024-03-11T04:00:00.000Z', '2024-03-12T04:00:00.000Z'],
    ]);
    expect(intervals.map(hours)).toEqual([24, 23, 24]);
  });

  it('gives America/New_York a 25-hour day when clocks fall back, at the offset hour', () => {
    const intervals = list(
      shape({ interval: 'day', timezone: 'America/New_York', offset_hour: 6 }),
      '2024-11-02T10:00:00Z',
      '2024-11-05T11:00:00Z',
    );
    expect(intervals).toEqual([
      ['2024-11-02T10:00:00.000Z', '2024-11-03T11:00:00.000Z'],
      ['2024-11-03T11:00:00.000Z', '2024-11-04T11:00:00.000Z'],
      ['2024-11-04T11:00:00.000Z', '2024-11-05T11:00:00.000Z'],
    ]);
    expect(intervals.map(hours)).toEqual([25, 24, 24]);
  });

  it('ends Asia/Kathmandu days at local midnight, 18:15 UTC', () => {
    const intervals = list(
      shape({ interval: 'day', timezone: 'Asia/Kathmandu' }),
      '2024-03-01T00:00:00Z',
      '2024-03-04T00:00:00Z',
    );
    expect(intervals).toEqual([
      ['2024-02-29T18:15:00.000Z', '2024-03-01T18:15:00.000Z'],
      ['2024-03-01T18:15:00.000Z', '2024-03-02T18:15:00.000Z'],
      ['2024-03-02T18:15:00.000Z', '2024-03-03T18:15:00.000Z'],
    ]);
  });

  it('fires weekly on offset_day at offset_hour, with a 167-hour week across spring forward', () => {
    // offset_day 1 = Monday, 09:00 New York time.
    const intervals = list(
      shape({ interval: 'week', timezone: 'America/New_York', offset_day: 1, offset_hour: 9 }),
      '2024-03-01T00:00:00Z',
      '2024-03-19T00:00:00Z',
    );
    expect(intervals).toEqual([
      ['2024-02-26T14:00:00.000Z', '2024-03-04T14:00:00.000Z'],
      ['2024-03-04T14:00:00.000Z', '2024-03-11T13:00:00.000Z'],
      ['2024-03-11T13:00:00.000Z', '2024-03-18T13:00:00.000Z'],
    ]);
    expect(intervals.map(hours)).toEqual([168, 167, 168]);
  });

  it('skips a day whose offset hour does not exist and fires twice on a day that repeats it, like Temporal, and tiles', () => {
    const springForward = list(
      shape({ interval: 'day', timezone: 'America/New_York', offset_hour: 2 }),
      '2024-03-09T00:00:00Z',
      '2024-03-12T00:00:00Z',
    );
    // 02:00 does not exist on 2024-03-10: the interval ending on the 11th starts where the one before ended.
    expect(springForward).toEqual([
      ['2024-03-08T07:00:00.000Z', '2024-03-09T07:00:00.000Z'],
      ['2024-03-09T07:00:00.000Z', '2024-03-11T06:00:00.000Z'],
    ]);

    const fallBack = list(
      shape({ interval: 'day', timezone: 'America/New_York', offset_hour: 1 }),
      '2024-11-02T12:00:00Z',
      '2024-11-04T12:00:00Z',
    );
    // 01:00 happens twice on 2024-11-03: the second firing exports the hour between the two.
    expect(fallBack).toEqual([
      ['2024-11-02T05:00:00.000Z', '2024-11-03T05:00:00.000Z'],
      ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z'],
      ['2024-11-03T06:00:00.000Z', '2024-11-04T06:00:00.000Z'],
    ]);
  });

  it('skips a week whose offset hour does not exist, starting the next where the last ended', () => {
    // Sundays at 02:00 in New York: 2024-03-10 has no 02:00.
    const weekly = shape({ interval: 'week', timezone: 'America/New_York', offset_day: 0, offset_hour: 2 });
    expect(list(weekly, '2024-03-01T00:00:00Z', '2024-03-18T00:00:00Z')).toEqual([
      ['2024-02-25T07:00:00.000Z', '2024-03-03T07:00:00.000Z'],
      ['2024-03-03T07:00:00.000Z', '2024-03-17T06:00:00.000Z'],
    ]);
  });

  it("keeps within the export's own start_at and end_at", () => {
    const bounded = shape({ start_at: new Date('2024-05-01T03:00:00Z'), end_at: new Date('2024-05-01T05:00:00Z') });
    expect(list(bounded, '2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z').map((interval) => interval[1])).toEqual([
      '2024-05-01T03:00:00.000Z',
      '2024-05-01T04:00:00.000Z',
      '2024-05-01T05:00:00.000Z',
    ]);
  });

  it('counts a year of hourly intervals', () => {
    expect(countScheduledIntervals(shape({}), new Date('2023-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'))).toBe(
      8760,
    );
  });

  it('finds the interval that holds a moment', () => {
    const daily = shape({ interval: 'day', timezone: 'America/New_York', offset_hour: 3 });
    expect(intervalContaining(daily, new Date('2024-07-04T06:59:59Z'))).toEqual({
      start: new Date('2024-07-03T07:00:00Z'),
      end: new Date('2024-07-04T07:00:00Z'),
    });
    expect(intervalContaining(daily, new Date('2024-07-04T07:00:00Z')).start).toEqual(new Date('2024-07-04T07:00:00Z'));
  });

  it.each([
    ['every 5 minutes', {}],
    ['hour', { start_at: new Date('2024-02-03T04:30:00Z'), end_at: new Date('2024-11-01T00:00:00Z') }],
    ['day', { timezone: 'America/New_York', offset_hour: 2 }],
    ['day', { timezone: 'Asia/Kathmandu' }],
    ['week', { timezone: 'Europe/Berlin', offset_day: 3, offset_hour: 23 }],
  ] as const)(
    'counts %s intervals %j as many as it lists, and approximates within the DST changes',
    (interval, extra) => {
      const schedule = shape({ interval, ...extra });
      const ranges = [
        ['2024-01-01T00:00:00Z', '2024-12-31T17:45:00Z'],
        ['2024-03-10T01:00:00Z', '2024-03-10T09:00:00Z'],
        ['2024-06-01T00:00:00Z', '2024-06-01T00:00:00Z'],
      ];
      for (const [after, until] of ranges) {
        const exact = list(schedule, after!, until!).length;
        expect(countScheduledIntervals(schedule, new Date(after!), new Date(until!))).toBe(exact);
        // A year holds two DST changes in New York and Berlin.
        const approximate = approximateIntervalCount(schedule, new Date(after!), new Date(until!));
        expect(Math.abs(approximate - exact)).toBeLessThanOrEqual(2);
        expect(hasScheduledInterval(schedule, new Date(after!), new Date(until!))).toBe(exact > 0);
      }
    },
  );

  it('counts the intervals since year 0 without listing them', () => {
    const since = new Date('0000-01-01T00:00:00Z');
    const until = new Date('2024-01-01T00:00:00Z');
    const hoursSinceYearZero = (until.getTime() - since.getTime()) / 3_600_000;
    expect(countScheduledIntervals(shape({}), since, until)).toBe(hoursSinceYearZero);
    expect(approximateIntervalCount(shape({ interval: 'every 1 minute' }), since, until)).toBe(hoursSinceYearZero * 60);
    const days = approximateIntervalCount(shape({ interval: 'day', timezone: 'Europe/Paris' }), since, until);
    expect(days).toBe(hoursSinceYearZero / 24);
  });
});
