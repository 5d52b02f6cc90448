import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { taskQueueFor } from '../../src/temporal/schedules';

const KEY = randomBytes(32).toString('base64');
const EXPORT_ID = '0190d1a8-8f6e-7b0e-9c3a-4f1d2b3c4d5e';

describe('DEDICATED_TASK_QUEUES', () => {
  it('puts an export on its own queue, or every export of a team, and the rest on TASK_QUEUE', () => {
    const { temporal } = loadConfig({
      ENCRYPTION_KEY: KEY,
      TASK_QUEUE: 'shared',
      DEDICATED_TASK_QUEUES: ` 42=team-42 , ${EXPORT_ID.toUpperCase()}=one-export`,
    });
    expect(temporal.dedicatedQueues).toEqual({ byExport: { [EXPORT_ID]: 'one-export' }, byTeam: { 42: 'team-42' } });
    // The export's own entry wins over its team's.
    expect(taskQueueFor(temporal, { id: EXPORT_ID, team_id: 42 })).toBe('one-export');
    expect(taskQueueFor(temporal, { id: '0190d1a8-0000-7b0e-9c3a-4f1d2b3c4d5e', team_id: 42 })).toBe('team-42');
    expect(taskQueueFor(temporal, { id: '0190d1a8-0000-7b0e-9c3a-4f1d2b3c4d5e', team_id: 7 })).toBe('shared');
  });

  it('is empty by default and refuses an entry it cannot read, naming the variable', () => {
    expect(loadConfig({ ENCRYPTION_KEY: KEY }).temporal.dedicatedQueues).toEqual({ byExport: {}, byTeam: {} });
    expect(() => loadConfig({ ENCRYPTION_KEY: KEY, DEDICATED_TASK_QUEUES: 'team-a=queue' })).toThrow(
      /DEDICATED_TASK_QUEUES key "team-a" must be an export id \(uuid\) or a team id/,
    );
    expect(() => loadConfig({ ENCRYPTION_KEY: KEY, DEDICATED_TASK_QUEUES: '42' })).toThrow(ConfigError);
  });

  it('reads the task-queue rate limit of a worker', () => {
    const config = loadConfig({ ENCRYPTION_KEY: KEY, WORKER_MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND: '2.5' });
    expect(config.worker.maxTaskQueueActivitiesPerSecond).toBe(2.5);
    expect(loadConfig({ ENCRYPTION_KEY: KEY }).worker.maxTaskQueueActivitiesPerSecond).toBeUndefined();
  });
});
