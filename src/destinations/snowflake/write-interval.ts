import type { InsertActivityResult } from '../../temporal/contracts';
import { writeIntervalInBatches } from '../batched-interval';
import type { InsertAttempt } from '../contract';
import type { SnowflakeDestinationConfig } from './config';
import { exportToSnowflake } from './export';

/**
 * Merges the interval's rows into the Snowflake table one batch at a time, saving the row cursor in Postgres after
 * each MERGE (and heartbeating it): a retried attempt continues after the last saved batch, and the batch it may
 * send again is skipped by the MERGE on its key.
 */
export function writeIntervalToSnowflake(
  attempt: InsertAttempt<SnowflakeDestinationConfig>,
): Promise<InsertActivityResult> {
  return writeIntervalInBatches(attempt, 'Snowflake', exportToSnowflake);
}
