import { describe, expect, it } from 'vitest';
import type { ScheduleShape } from '../../src/backfills/intervals';
import { parseBackfillRange } from '../../src/backfills/request';
import { ValidationError } from '../../src/errors';

const NOW = new Date('2024-06-15T12:34:00Z');
const MAX_INTERVALS = 1000;

function exportOf(overrides: Partial<ScheduleShape> = {}) {
  return {
    interval: 'hour',
    timezone: 'UTC',
    offset_hour: null,
    offset_day: null,
    destination: { type: 'S3' },
    ...overrides,
  };
}

function refusal(batchExport: ReturnType<typeof exportOf>, body: unknown): ValidationError {
  try {
    parseBackfillRange(batchExport, body, NOW, MAX_INTERVALS);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('backfill requests', () => {
  it('takes date-times with a timezone for hourly exports', () => {
    expect(
      parseBackfillRange(
        exportOf(),
        { start_at: '2024-06-01T02:00:00+02:00', end_at: '2024-06-02T00:00:00Z' },
        NOW,
        MAX_INTERVALS,
      ),
    ).toEqual({
      startAt: new Date('2024-06-01T00:00:00Z'),
      endAt: new Date('2024-06-02T00:00:00Z'),
      reexportCompleted: true,
    });
  });

  it('leaves intervals earlier runs completed alone only when skip_exported is true', () => {
    const body = { end_at: '2024-06-01T00:00:00Z' };
    expect(parseBackfillRange(exportOf(), { ...body, skip_exported: true }, NOW, MAX_INTERVALS).reexportCompleted).toBe(
      false,
    );
    expect(
      parseBackfillRange(exportOf(), { ...body, skip_exported: false }, NOW, MAX_INTERVALS).reexportCompleted,
    ).toBe(true);
  });

  it('turns dates into the boundaries of a daily export in its timezone, at its offset hour', () => {
    const daily = exportOf({ interval: 'day', timezone: 'America/New_York', offset_hour: 6 });
    expect(parseBackfillRange(daily, { start_at: '2024-03-09', end_at: '2024-03-11' }, NOW, MAX_INTERVALS)).toEqual({
      startAt: new Date('2024-03-09T11:00:00Z'),
      endAt: new Date('2024-03-11T10:00:00Z'),
      reexportCompleted: true,
    });
  });

  it('leaves the start open (from the earliest data) when start_at is left out', () => {
    expect(parseBackfillRange(exportOf(), { end_at: '2024-06-01T00:00:00Z' }, NOW, MAX_INTERVALS).startAt).toBeNull();
  });

  it.each([
    [{}, 'end_at', 'end_at is required: open-ended backfills are not supported for S3 destinations'],
    [
      { start_at: '2024-06-02T00:00:00Z', end_at: '2024-06-02T00:00:00Z' },
      'start_at',
      'start_at must be before end_at',
    ],
    [{ start_at: '2024-06-01T00:00:00Z', end_at: '2024-06-15T13:00:00Z' }, 'end_at', 'is in the future'],
    [{ start_at: '2024-06-01', end_at: '2024-06-02T00:00:00Z' }, 'start_at', 'must be a date and time with a timezone'],
    [{ start_at: '2024-06-01T00:00:00Z', end_at: 'yesterday' }, 'end_at', 'must be a date and time with a timezone'],
    [{ start_at: 5, end_at: '2024-06-02T00:00:00Z' }, 'start_at', 'expected string'],
    [{ end_at: '2024-06-02T00:00:00Z', skip_exported: 'yes' }, 'skip_exported', 'expected boolean'],
  ])('refuses %j, naming %s', (body, attr, message) => {
    const error = refusal(exportOf(), body);
    expect(error.attr).toBe(attr);
    expect(error.message).toContain(message);
  });

  it('wants dates, on the offset day, for weekly exports', () => {
    const weekly = exportOf({ interval: 'week', offset_day: 3 });
    expect(refusal(weekly, { start_at: '2024-05-01T00:00:00Z', end_at: '2024-05-29' })).toMatchObject({
      attr: 'start_at',
      message: expect.stringContaining('must be a date (YYYY-MM-DD) for a weekly export'),
    });
    expect(refusal(weekly, { start_at: '2024-05-01', end_at: '2024-05-28' })).toMatchObject({
      attr: 'end_at',
      message: "end_at must be a Wednesday: this export's weeks end on Wednesday (got Tuesday 2024-05-28)",
    });
    expect(
      parseBackfillRange(weekly, { start_at: '2024-05-01', end_at: '2024-05-29' }, NOW, MAX_INTERVALS).endAt,
    ).toEqual(new Date('2024-05-29T00:00:00Z'));
  });

  it('refuses a range that holds no whole interval', () => {
    const error = refusal(exportOf({ interval: 'every 15 minutes' }), {
      start_at: '2024-06-01T00:01:00Z',
      end_at: '2024-06-01T00:14:00Z',
    });
    expect(error.message).toContain('holds no complete interval of this export (every 15 minutes)');
  });

  it('refuses more intervals than the limit, naming it, and takes exactly the limit', () => {
    const error = refusal(exportOf(), { start_at: '2024-01-01T00:00:00Z', end_at: '2024-02-11T17:00:00Z' });
    expect(error).toMatchObject({ attr: 'start_at', code: 'too_many_intervals' });
    expect(error.message).toContain('This backfill covers 1,001 intervals of this export (hour)');
    expect(error.message).toContain('at most 1,000 are allowed (BACKFILL_MAX_INTERVALS)');
    const atTheLimit = { start_at: '2024-01-01T00:00:00Z', end_at: '2024-02-11T16:00:00Z' };
    expect(parseBackfillRange(exportOf(), atTheLimit, NOW, MAX_INTERVALS).endAt).toEqual(new Date(atTheLimit.end_at));
  });

  it('refuses a backfill from year 0 by counting, naming the limit', () => {
    const daily = exportOf({ interval: 'day', timezone: 'Europe/Paris' });
    const error = refusal(daily, { start_at: '0000-01-01', end_at: '2024-06-01' });
    expect(error).toMatchObject({ attr: 'start_at', code: 'too_many_intervals' });
    expect(error.message).toMatch(/^This backfill covers 739,\d{3} intervals of this export \(day\)/);
  });
});
