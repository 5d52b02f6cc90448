import { createBackfillActivities } from './backfills';
import type { ActivityDependencies } from './dependencies';
import { createInsertActivities } from './insert';
import { createNotificationActivities } from './notifications';
import { createRunActivities } from './runs';

export type { ActivityDependencies } from './dependencies';

/** Every activity the worker registers, bound to real dependencies. */
export function createActivities(deps: ActivityDependencies) {
  const insert = createInsertActivities(deps);
  return {
    ...createRunActivities(deps),
    ...createBackfillActivities(deps),
    ...createNotificationActivities(deps),
    ...insert,
    // The per-destination activities before the one insert activity: histories of export workflows started by an
    // earlier version schedule them by these names (workflows/export.ts keeps the workflows that do).
    insertIntoS3: insert.insertIntoDestination,
    insertIntoPostgres: insert.insertIntoDestination,
    insertIntoNoOp: insert.insertIntoDestination,
    abortUnfinishedS3Uploads: insert.cleanUpAfterFailedInsert,
  };
}

export type Activities = ReturnType<typeof createActivities>;
