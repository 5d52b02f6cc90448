import type { Destination } from '../contract';
import { checkS3AccessOnSave } from './client';
import { S3_ENDPOINT_FIELDS, S3_SECRET_FIELDS, S3DestinationConfig } from './config';
import { S3_TEST_STEPS } from './test-steps';
import { abortUnfinishedUploads, writeIntervalToS3 } from './write-interval';

/** Files of JSON lines or Parquet in an S3 bucket (or any S3-compatible store). */
export const S3: Destination<S3DestinationConfig> = {
  configSchema: S3DestinationConfig,
  secretFields: S3_SECRET_FIELDS,
  endpointFields: S3_ENDPOINT_FIELDS,
  checkAccess: checkS3AccessOnSave,
  testSteps: S3_TEST_STEPS,
  describe: (config) => `to s3://${config.bucket_name}`,
  writeInterval: writeIntervalToS3,
  rerunsOverwrite: true,
  cleanUpAfterFailure: abortUnfinishedUploads,
};
