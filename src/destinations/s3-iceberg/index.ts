import type { DestinationAccess } from '../../config';
import { checkHostOnSave, dialledHost } from '../../net/policy';
import type { Destination, DestinationTestStep } from '../contract';
import { checkS3AccessOnSave } from '../s3/client';
import { S3_TEST_STEPS } from '../s3/test-steps';
import { openCatalog } from './catalogs';
import {
  bucketConfig,
  S3_ICEBERG_ENDPOINT_FIELDS,
  S3_ICEBERG_MASKED_FIELDS,
  S3_ICEBERG_SECRET_FIELDS,
  S3IcebergDestinationConfig,
  tableLocation,
} from './config';
import { abortIcebergUploads, writeIntervalToIceberg } from './write-interval';

async function checkAccess(config: S3IcebergDestinationConfig, access: DestinationAccess): Promise<void> {
  await checkS3AccessOnSave(bucketConfig(config), access);
  if (config.catalog_type === 'sql') {
    await checkHostOnSave(config.catalog_host!, access, { field: 'catalog_host', value: config.catalog_host });
  } else if (config.glue_endpoint_url) {
    const host = dialledHost(new URL(config.glue_endpoint_url).hostname);
    await checkHostOnSave(host, access, { field: 'glue_endpoint_url', value: config.glue_endpoint_url });
  }
}

const TEST_STEPS: readonly DestinationTestStep<S3IcebergDestinationConfig>[] = [
  // The bucket's checks are the S3 destination's, on the bucket part of the config.
  ...S3_TEST_STEPS.map((step) => ({
    ...step,
    run: (config: S3IcebergDestinationConfig, context: Parameters<typeof step.run>[1]) =>
      step.run(bucketConfig(config), context),
  })),
  {
    name: 'Connect to the catalog',
    description:
      "Connects to the SQL catalog's database and creates the catalog's tables when they are missing; with Glue, " +
      'creates the database (namespace) when it is missing.',
    async run(config, context) {
      const catalog = await openCatalog(config, context.access);
      await catalog.close();
    },
  },
];

/**
 * An Apache Iceberg table (format v2) on S3: each interval's rows as Parquet data files, committed as one snapshot
 * through a SQL catalog or AWS Glue (docs/notes/issue-16-iceberg.md).
 */
export const S3Iceberg: Destination<S3IcebergDestinationConfig> = {
  configSchema: S3IcebergDestinationConfig,
  secretFields: S3_ICEBERG_SECRET_FIELDS,
  maskedFields: S3_ICEBERG_MASKED_FIELDS,
  endpointFields: S3_ICEBERG_ENDPOINT_FIELDS,
  checkAccess,
  testSteps: TEST_STEPS,
  describe: (config) =>
    `to ${tableLocation(config)} (${
      config.catalog_type === 'glue' ? 'Glue catalog' : `catalog "${config.catalog_name}" on ${config.catalog_host}`
    })`,
  writeInterval: writeIntervalToIceberg,
  cleanUpAfterFailure: abortIcebergUploads,
};
