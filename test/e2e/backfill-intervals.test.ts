import type { S3Client } from '@aws-sdk/client-s3';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { describe, expect, it } from 'vitest';
import { scheduledIntervals } from '../../src/backfills/intervals';
import { listRuns } from '../../src/db/runs';
import { createBatchExport } from '../../src/service/batch-exports';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, exportedRows, s3Destination, waitForBackfill } from '../helpers/backfills';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket } from '../helpers/s3';
import { useTeamAndS3, useTestStack } from '../helpers/stack';

/**
 * The schedule is the reference: Temporal's ListScheduleMatchingTimes says when the export's schedule fires, and a
 * backfill must run exactly those intervals.
 */
describe('backfill intervals against the schedule', () => {
  const stack = useTestStack();
  let s3: S3Client;
  let teamId: number;
  useTeamAndS3(stack, (made) => ({ s3, teamId } = made));

  async function dailyExport(teamId: number, bucket: string, settings: Record<string, unknown>) {
    return createBatchExport(stack.services, teamId, {
      name: `daily ${JSON.stringify(settings)}`,
      destination: s3Destination(stack, bucket),
      interval: 'day',
      paused: true,
      ...settings,
    });
  }

  /** When the export's schedule fires in (after, until], as Temporal computes it. */
  async function scheduleFireTimes(scheduleId: string, after: Date, until: Date): Promise<string[]> {
    const response = await stack.temporal.workflowService.listScheduleMatchingTimes({
      namespace: stack.config.temporal.namespace,
      scheduleId,
      startTime: msToTs(after.getTime() - 86_400_000),
      endTime: msToTs(until.getTime() + 86_400_000),
    });
    // The server adds the schedule's jitter (under a minute) to the times it lists; every nominal time we use is on
    // a whole minute, so flooring to the minute recovers it.
    return (response.startTime ?? [])
      .map((time) => new Date(Math.floor(tsToMs(time) / 60_000) * 60_000))
      .filter((time) => time > after && time <= until)
      .map((time) => time.toISOString());
  }

  it.each([
    ['America/New_York', 'spring forward', '2024-03-08', '2024-03-13', 23],
    ['America/New_York', 'fall back', '2024-11-01', '2024-11-06', 25],
    ['Asia/Kathmandu', 'a +05:45 offset', '2024-03-08', '2024-03-13', 24],
  ])(
    'backfills daily %s intervals across %s exactly as the schedule fires them',
    async (timezone, _, start, end, oddDay) => {
      // A team of its own: the source rows of other cases fall on the same days.
      const { teamId } = await createTeam(stack.db.pool, timezone);
      const bucket = await createBucket(s3);
      const batchExport = await dailyExport(teamId, bucket, { timezone });
      // One event an hour over the whole range, each in exactly one day.
      const first = Date.parse(`${start}T00:00:00Z`) - 86_400_000;
      const events = Array.from({ length: 7 * 24 }, (_, hour) =>
        makeEvent(teamId, new Date(first + hour * 3_600_000 + 1_000).toISOString()),
      );
      await insertEvents(stack.db.pool, events);

      const backfill = await waitForBackfill(
        stack,
        await createBackfill(backfillDeps(stack), {
          teamId,
          batchExportId: batchExport.id,
          body: { start_at: start, end_at: end },
        }),
      );

      expect(backfill.status).toBe('Completed');
      const runs = (await listRuns(stack.db.pool, batchExport.id)).reverse();
      const fired = await scheduleFireTimes(batchExport.id, backfill.start_at!, backfill.end_at!);
      expect(fired).toHaveLength(5);
      expect(runs.map((run) => run.data_interval_end.toISOString())).toEqual(fired);
      const hours = runs.map(
        (run) => (run.data_interval_end.getTime() - run.data_interval_start!.getTime()) / 3_600_000,
      );
      expect(hours.sort()).toEqual([24, 24, 24, 24, oddDay].sort());
      runs.slice(1).forEach((run, index) => expect(run.data_interval_start).toEqual(runs[index]!.data_interval_end));
      // Every event inserted in the backfilled days is exported once; none from outside them.
      const inRange = events.filter((event) => {
        const at = new Date(event.inserted_at);
        return at >= runs[0]!.data_interval_start! && at < runs[runs.length - 1]!.data_interval_end;
      });
      const exported = (await exportedRows(s3, bucket)).map((row) => row.uuid);
      expect(exported.sort()).toEqual(inRange.map((event) => event.uuid).sort());
    },
  );

  it.each([
    ['day', 'America/New_York', { offset_hour: 2 }, '2024-03-01', '2024-03-20'],
    ['day', 'America/New_York', { offset_hour: 1 }, '2024-10-25', '2024-11-10'],
    ['day', 'Europe/London', { offset_hour: 1 }, '2024-03-25', '2024-04-05'],
    ['day', 'Asia/Kathmandu', { offset_hour: 5 }, '2024-01-01', '2024-01-10'],
    ['week', 'America/New_York', { offset_day: 0, offset_hour: 2 }, '2024-02-20', '2024-04-20'],
    ['week', 'Australia/Sydney', { offset_day: 3, offset_hour: 2 }, '2024-03-20', '2024-04-20'],
  ])('computes the same %s firings as the schedule in %s with %j', async (interval, timezone, offsets, from, to) => {
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: `${interval} ${timezone}`,
      destination: s3Destination(stack, 'never-written'),
      interval,
      timezone,
      paused: true,
      ...offsets,
    });
    const after = new Date(`${from}T00:00:00Z`);
    const until = new Date(`${to}T00:00:00Z`);

    const intervals = [...scheduledIntervals(batchExport, after, until)];

    expect(intervals.length).toBeGreaterThan(0);
    expect(intervals.map((i) => i.end.toISOString())).toEqual(await scheduleFireTimes(batchExport.id, after, until));
    // Each interval starts where the one before ended: no gap, no overlap, whatever DST does.
    intervals.slice(1).forEach((interval, index) => expect(interval.start).toEqual(intervals[index]!.end));
  });
});
