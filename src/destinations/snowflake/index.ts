import type { Destination } from '../contract';
import {
  SNOWFLAKE_ENDPOINT_FIELDS,
  SNOWFLAKE_SECRET_FIELDS,
  SnowflakeDestinationConfig,
  snowflakeHost,
} from './config';
import { checkSnowflakeAccess } from './connect';
import { SNOWFLAKE_TEST_STEPS } from './test-steps';
import { writeIntervalToSnowflake } from './write-interval';

/** A table in the customer's Snowflake account, merged into by key with the official `snowflake-sdk` driver. */
export const Snowflake: Destination<SnowflakeDestinationConfig> = {
  configSchema: SnowflakeDestinationConfig,
  secretFields: SNOWFLAKE_SECRET_FIELDS,
  endpointFields: SNOWFLAKE_ENDPOINT_FIELDS,
  checkAccess: checkSnowflakeAccess,
  testSteps: SNOWFLAKE_TEST_STEPS,
  describe: (config) =>
    `to snowflake://${snowflakeHost(config)} table "${config.database}"."${config.schema}"."${config.table_name}"`,
  writeInterval: writeIntervalToSnowflake,
};
