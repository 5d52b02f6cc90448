import type { Destination } from '../contract';
import { HTTP_ENDPOINT_FIELDS, HTTP_SECRET_FIELDS, HttpDestinationConfig } from './config';
import { checkHttpAccess } from './endpoint';
import { HTTP_TEST_STEPS } from './test-steps';
import { writeIntervalToHttp } from './write-interval';

/** Batches of rows POSTed to an HTTP endpoint: the platform's capture `/batch` body, or JSON lines. */
export const HTTP: Destination<HttpDestinationConfig> = {
  configSchema: HttpDestinationConfig,
  secretFields: HTTP_SECRET_FIELDS,
  endpointFields: HTTP_ENDPOINT_FIELDS,
  checkAccess: checkHttpAccess,
  testSteps: HTTP_TEST_STEPS,
  describe: (config) => `to ${new URL(config.url).origin}${new URL(config.url).pathname} (${config.format})`,
  writeInterval: writeIntervalToHttp,
};
