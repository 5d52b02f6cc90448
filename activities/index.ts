import type { Pool } from 'pg';
import type { Config } from '../src/config';
import { createBackfillActivities } from './backfills';
import { createNoOpActivities } from './noop';
import { createNotificationActivities } from './notifications';
import { createPostgresActivities } from './postgres';
import { createRunActivities } from './runs';
import { createS3Activities } from './s3';

export interface ActivityDependencies {
  /** The metadata database. */
  pool: Pool;
  /** Where events, persons and sessions are read from. */
  sourcePool: Pool;
  config: Pick<Config, 'encryptionKey' | 's3' | 'source' | 'autoPause' | 'destinationAccess' | 'api' | 'notifications'>;
}

/** Every activity the worker registers, bound to real dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createRunActivities(deps),
    ...createS3Activities(deps),
    ...createPostgresActivities(deps),
    ...createBackfillActivities(deps),
    ...createNoOpActivities(deps),
    ...createNotificationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
