import type { InsertActivityResult } from '../../temporal/contracts';
import { writeIntervalInBatches } from '../batched-interval';
import type { InsertAttempt } from '../contract';
import type { PostgresDestinationConfig } from './config';
import { exportToPostgres } from './export';

/**
 * Loads the interval's rows into the destination table, one committed batch at a time. Saves the row cursor in
 * Postgres after each commit (and heartbeats it); a retried attempt continues after the last one instead of starting
 * over, so a crash redoes at most the batch committed as it died.
 */
export function writeIntervalToPostgres(
  attempt: InsertAttempt<PostgresDestinationConfig>,
): Promise<InsertActivityResult> {
  return writeIntervalInBatches(attempt, 'Postgres', exportToPostgres);
}
