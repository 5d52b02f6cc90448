import { describe, expect, it } from 'vitest';
import { scheduleSpec } from '../../src/temporal/schedules';

const base = { timezone: 'UTC', offset_day: null, offset_hour: null, start_at: null, end_at: null };

describe('scheduleSpec', () => {
  it('uses an interval spec for hourly and minute exports', () => {
    expect(scheduleSpec({ ...base, interval: 'hour' })).toMatchObject({ intervals: [{ every: 3_600_000 }] });
    expect(scheduleSpec({ ...base, interval: 'every 5 minutes' })).toMatchObject({ intervals: [{ every: 300_000 }] });
  });

  it('uses a calendar spec in the export timezone for daily exports, at offset_hour', () => {
    const spec = scheduleSpec({ ...base, interval: 'day', timezone: 'Europe/Berlin', offset_hour: 6 });
    expect(spec).toMatchObject({ calendars: [{ hour: 6, minute: 0, second: 0 }], timezone: 'Europe/Berlin' });
    expect(spec.intervals).toBeUndefined();
  });

  it('fires weekly exports on offset_day (0 = Sunday)', () => {
    const spec = scheduleSpec({ ...base, interval: 'week', offset_day: 1, offset_hour: 2 });
    expect(spec.calendars).toEqual([{ dayOfWeek: 'MONDAY', hour: 2, minute: 0, second: 0 }]);
  });

  it('keeps jitter well below the interval', () => {
    expect(Number(scheduleSpec({ ...base, interval: 'every 1 minute' }).jitter)).toBe(3_000);
    expect(Number(scheduleSpec({ ...base, interval: 'hour' }).jitter)).toBe(30_000);
  });

  it('bounds the schedule by the export start_at and end_at', () => {
    const startAt = new Date('2025-01-01T00:00:00Z');
    const endAt = new Date('2025-02-01T00:00:00Z');
    expect(scheduleSpec({ ...base, interval: 'hour', start_at: startAt, end_at: endAt })).toMatchObject({
      startAt,
      endAt,
    });
  });
});
