import { describe, expect, it } from 'vitest';
import { dataIntervalStart, isoSeconds, isValidInterval, parseInterval } from '../../src/intervals';

describe('intervals', () => {
  it('accepts hour, day, week and minute intervals that divide an hour', () => {
    for (const interval of ['hour', 'day', 'week', 'every 1 minute', 'every 5 minutes', 'every 15 minutes']) {
      expect(isValidInterval(interval)).toBe(true);
    }
    for (const interval of ['month', 'every 7 minutes', 'every 0 minutes', 'every five minutes', '']) {
      expect(isValidInterval(interval)).toBe(false);
    }
    expect(() => parseInterval('every 7 minutes')).toThrow(/Unsupported interval "every 7 minutes"/);
  });

  it('starts a fixed interval exactly its length before its end', () => {
    const end = new Date('2024-03-10T07:00:00Z');
    expect(dataIntervalStart(end, 'hour', 'UTC')).toEqual(new Date('2024-03-10T06:00:00Z'));
    expect(dataIntervalStart(end, 'every 5 minutes', 'America/New_York')).toEqual(new Date('2024-03-10T06:55:00Z'));
  });

  it('starts a day interval at the same local time the day before, across a DST change', () => {
    // 2024-03-10 in New York has 23 hours: midnight EDT (04:00Z) back to midnight EST (05:00Z the day before).
    expect(dataIntervalStart(new Date('2024-03-11T04:00:00Z'), 'day', 'America/New_York')).toEqual(
      new Date('2024-03-10T05:00:00Z'),
    );
    // 2024-11-03 has 25 hours.
    expect(dataIntervalStart(new Date('2024-11-04T05:00:00Z'), 'day', 'America/New_York')).toEqual(
      new Date('2024-11-03T04:00:00Z'),
    );
  });

  it('starts a week interval seven local days before its end, in a +05:45 zone', () => {
    expect(dataIntervalStart(new Date('2024-06-09T18:15:00Z'), 'week', 'Asia/Kathmandu')).toEqual(
      new Date('2024-06-02T18:15:00Z'),
    );
  });

  it('formats interval bounds as Temporal formats scheduled workflow ids', () => {
    expect(isoSeconds(new Date('2024-05-01T11:00:00.000Z'))).toBe('2024-05-01T11:00:00Z');
  });
});
