import type { Destination } from '../contract';
import { NOOP_SECRET_FIELDS, NoOpDestinationConfig } from './config';
import { discardInterval } from './write-interval';

/** Reads the interval and discards it: tests and benchmarks of the source side. */
export const NoOp: Destination<NoOpDestinationConfig> = {
  configSchema: NoOpDestinationConfig,
  secretFields: NOOP_SECRET_FIELDS,
  endpointFields: [],
  checkAccess: async () => undefined,
  testSteps: [],
  describe: () => 'to nowhere (NoOp)',
  writeInterval: discardInterval,
};
