import type { Destination } from '../contract';
import { AZURE_ENDPOINT_FIELDS, AZURE_SECRET_FIELDS, AzureBlobDestinationConfig } from './config';
import { azureEndpoint, checkAzureAccessOnSave } from './client';
import { AZURE_TEST_STEPS } from './test-steps';
import { dropUncommittedBlocks, writeIntervalToAzure } from './write-interval';

/** Files of JSON lines or Parquet in an Azure Blob Storage container: S3's files, keys and manifest (object-storage). */
export const AzureBlob: Destination<AzureBlobDestinationConfig> = {
  configSchema: AzureBlobDestinationConfig,
  secretFields: AZURE_SECRET_FIELDS,
  endpointFields: AZURE_ENDPOINT_FIELDS,
  checkAccess: checkAzureAccessOnSave,
  testSteps: AZURE_TEST_STEPS,
  describe: (config) => `to ${azureEndpoint(config).serviceUrl}/${config.container_name}`,
  writeInterval: writeIntervalToAzure,
  rerunsOverwrite: true,
  cleanUpAfterFailure: dropUncommittedBlocks,
};
