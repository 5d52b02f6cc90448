import type { Pool } from 'pg';
import type { Config } from '../src/config';

/** What the activities are built with (createActivities); a leaf module, so that activity files import it freely. */
export interface ActivityDependencies {
  /** The metadata database. */
  pool: Pool;
  /** Where events, persons and sessions are read from. */
  sourcePool: Pool;
  config: Pick<
    Config,
    | 'encryptionKey'
    | 's3'
    | 'source'
    | 'postgresDestination'
    | 'formats'
    | 'autoPause'
    | 'destinationAccess'
    | 'api'
    | 'notifications'
    | 'worker'
  >;
}
