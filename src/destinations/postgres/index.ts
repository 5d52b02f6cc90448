import type { Destination } from '../contract';
import { POSTGRES_ENDPOINT_FIELDS, POSTGRES_SECRET_FIELDS, PostgresDestinationConfig } from './config';
import { checkPostgresAccess } from './connect';
import { POSTGRES_TEST_STEPS } from './test-steps';
import { writeIntervalToPostgres } from './write-interval';

/** A table in the customer's Postgres database, merged into by key. */
export const Postgres: Destination<PostgresDestinationConfig> = {
  configSchema: PostgresDestinationConfig,
  secretFields: POSTGRES_SECRET_FIELDS,
  maskedFields: ['password'],
  endpointFields: POSTGRES_ENDPOINT_FIELDS,
  checkAccess: checkPostgresAccess,
  testSteps: POSTGRES_TEST_STEPS,
  describe: ({ host, port, database, schema, table_name: table }) =>
    `to postgres://${host}:${port}/${database} table "${schema}"."${table}"`,
  writeInterval: writeIntervalToPostgres,
};
