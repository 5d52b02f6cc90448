import { ScheduleOverlapPolicy } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam } from '../helpers/fixtures';
import { TEST_CREDENTIALS } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';

describe('the schedule of a batch export', () => {
  const stack = useTestStack({ worker: false });
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
  });

  const destination = () => ({
    type: 'S3',
    config: { bucket_name: 'my-bucket', region: 'eu-west-1', ...TEST_CREDENTIALS },
  });

  it('is created with the export id, an hourly interval spec and the batch-export workflow', async () => {
    const batchExport = await createBatchExport(stack.services, teamId, { name: 'hourly', destination: destination() });

    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();

    expect(schedule.spec.intervals).toHaveLength(1);
    expect(schedule.spec.intervals![0]).toMatchObject({ every: 3_600_000 });
    expect(schedule.policies.overlap).toBe(ScheduleOverlapPolicy.ALLOW_ALL);
    expect(schedule.policies.catchupWindow).toBe(stack.config.schedule.catchupWindowSeconds * 1000);
    expect(schedule.state.paused).toBe(false);
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'batch-export',
      workflowId: batchExport.id,
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ batchExportId: batchExport.id, teamId, interval: 'hour', timezone: 'UTC' }],
    });
  });

  it('never carries destination secrets into Temporal', async () => {
    const batchExport = await createBatchExport(stack.services, teamId, { name: 'secret', destination: destination() });

    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();

    expect(JSON.stringify(schedule.action)).not.toContain(TEST_CREDENTIALS.aws_secret_access_key);
    const { rows } = await stack.db.pool.query(
      `SELECT d.config::text AS config, d.encrypted_secrets FROM batch_export_destinations d
       JOIN batch_exports be ON be.destination_id = d.id WHERE be.id = $1`,
      [batchExport.id],
    );
    expect(rows[0].config).not.toContain(TEST_CREDENTIALS.aws_secret_access_key);
    expect(rows[0].encrypted_secrets).not.toContain(TEST_CREDENTIALS.aws_secret_access_key);
    expect(batchExport.destination.config).not.toHaveProperty('aws_secret_access_key');
  });

  it('fires a daily export at offset_hour in its timezone', async () => {
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'daily',
      destination: destination(),
      interval: 'day',
      timezone: 'America/New_York',
      offset_hour: 3,
    });

    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();

    expect(schedule.spec.timezone).toBe('America/New_York');
    expect(schedule.spec.calendars).toHaveLength(1);
    expect(schedule.spec.calendars![0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });
    // The next runs are at 03:00 New York time, whatever the UTC offset of the day.
    const next = schedule.info.nextActionTimes.slice(0, 3);
    expect(next.length).toBeGreaterThan(0);
    for (const time of next) {
      const local = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', hour12: false });
      expect(Number(local.format(time)) % 24).toBe(3);
    }
  });

  it('is created paused when the export is', async () => {
    const batchExport = await createBatchExport(stack.services, teamId, {
      name: 'paused',
      destination: destination(),
      paused: true,
    });

    const schedule = await stack.temporal.schedule.getHandle(batchExport.id).describe();

    expect(schedule.state.paused).toBe(true);
    expect(batchExport.paused).toBe(true);
    expect(batchExport.last_paused_at).toBeInstanceOf(Date);
  });
});
