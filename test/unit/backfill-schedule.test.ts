import { describe, expect, it } from 'vitest';
import { carriedSchedule, scheduleShape } from '../../src/temporal/contracts';

describe('the schedule a backfill carries', () => {
  const shape = {
    interval: 'day',
    timezone: 'Europe/Berlin',
    offset_hour: 3,
    offset_day: null,
    start_at: new Date('2024-01-01T00:00:00Z'),
    end_at: null,
  };

  it('is the export schedule shape with the same field names, its bounds as ISO 8601 strings', () => {
    const carried = carriedSchedule(shape);
    expect(carried).toEqual({ ...shape, start_at: '2024-01-01T00:00:00.000Z', end_at: null });
    expect(scheduleShape(JSON.parse(JSON.stringify(carried)))).toEqual(shape);
  });

  it('reads the camelCase schedule of backfills started before, as their inputs still hold it', () => {
    const legacy = {
      interval: 'day',
      timezone: 'Europe/Berlin',
      offsetHour: 3,
      offsetDay: null,
      startAt: '2024-01-01T00:00:00.000Z',
      endAt: null,
    };
    expect(scheduleShape(legacy)).toEqual(shape);
  });
});
