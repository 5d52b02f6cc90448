import { randomUUID } from 'node:crypto';
import type { ScheduleOptions } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors';
import { TemporalChanges } from '../../src/service/temporal-sync';
import { isValidTimezone } from '../../src/timezones';
import { useTestStack } from '../helpers/stack';

/** Current IANA names that ICU (Intl) still lists under their former names. */
const RENAMED_ZONES = [
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Ho_Chi_Minh',
  'Asia/Yangon',
  'Europe/Kyiv',
  'America/Nuuk',
  'America/Argentina/Buenos_Aires',
  'America/Indiana/Indianapolis',
  'Atlantic/Faroe',
  'Pacific/Chuuk',
  'Pacific/Kanton',
  'Etc/UTC',
  'Etc/GMT+5',
  'US/Eastern',
  'EST5EDT',
  'GMT',
];

describe('Temporal and the API agree on what is valid', () => {
  const stack = useTestStack({ worker: false });
  let changes: TemporalChanges;

  beforeAll(async () => {
    changes = new TemporalChanges(stack.services);
  });

  /** A paused daily schedule in `timezone`, created through `changes` (so errors are classified) and deleted again. */
  async function createSchedule(timezone: string): Promise<void> {
    const options: ScheduleOptions = {
      scheduleId: `timezone-check-${randomUUID()}`,
      spec: { calendars: [{ hour: 3 }], timezone },
      action: { type: 'startWorkflow', workflowType: 'never-started', taskQueue: stack.config.temporal.taskQueue },
      state: { paused: true },
    };
    const handle = await changes.apply('create the schedule', () => stack.temporal.schedule.create(options));
    await handle.delete();
  }

  it('accepts in Temporal every timezone the API accepts', async () => {
    const accepted = [...Intl.supportedValuesOf('timeZone'), 'UTC', ...RENAMED_ZONES].filter(isValidTimezone);
    expect(accepted.length).toBeGreaterThan(Intl.supportedValuesOf('timeZone').length);
    const refused: string[] = [];
    // A few at a time: hundreds of schedules, on a dev server other tests share.
    for (let i = 0; i < accepted.length; i += 8) {
      await Promise.all(
        accepted.slice(i, i + 8).map((timezone) => createSchedule(timezone).catch(() => refused.push(timezone))),
      );
    }
    expect(refused).toEqual([]);
  });

  it('refuses what Temporal refuses, and a refusal by Temporal is a ValidationError naming the timezone', async () => {
    for (const timezone of ['utc', 'europe/paris', 'UTC+25', 'Mars/Olympus']) {
      expect(isValidTimezone(timezone), timezone).toBe(false);
      const error = await createSchedule(timezone).then(
        () => null,
        (caught: unknown) => caught,
      );
      // 'UTC+25' and friends are no zone at all to Temporal either; none of them may become a 503.
      expect(error, timezone).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({
        attr: 'timezone',
        message: expect.stringContaining('Temporal refused to create the schedule'),
      });
    }
  });

  // An unreachable Temporal stays a 503: test/api/temporal-unavailable.test.ts.
  it('classifies a missing schedule or workflow as not found', async () => {
    const missing = changes.apply('describe the schedule', () =>
      stack.temporal.schedule.getHandle(randomUUID()).describe(),
    );
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    const cancelled = changes.apply('terminate the workflow', () =>
      stack.temporal.workflow.getHandle(randomUUID()).terminate(),
    );
    await expect(cancelled).rejects.toBeInstanceOf(NotFoundError);
  });
});
