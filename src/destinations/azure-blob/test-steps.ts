import { randomUUID } from 'node:crypto';
import type { DestinationTestStep, TestStepContext } from '../contract';
import { BatchExportError, DestinationRefusedError, errorMessage } from '../../errors';
import { renderPrefix } from '../s3/keys';
import { createAzureContainer, type AzureContainer } from './client';
import type { AzureBlobDestinationConfig } from './config';
import { azureErrorCode, classifyAzureError } from './errors';

/** Runs `fn` with a container client for the config; its connections are closed afterwards. */
async function withContainer<T>(
  config: AzureBlobDestinationConfig,
  context: TestStepContext,
  fn: (container: AzureContainer) => Promise<T>,
): Promise<T> {
  const container = await createAzureContainer(config, context.access);
  try {
    return await fn(container);
  } catch (error) {
    if (error instanceof BatchExportError) throw error;
    throw container.refusal() ?? error;
  } finally {
    container.close();
  }
}

/**
 * Listing one blob answers both "do the credentials work?" and "does the container exist?": the error code says
 * which. Null when both are yes. (Listing, not the container's properties: a container's SAS token may list, but not
 * read the container's properties.)
 */
async function containerProblem(config: AzureBlobDestinationConfig, context: TestStepContext) {
  return withContainer(config, context, async (container) => {
    try {
      await container.client.listBlobsFlat({ abortSignal: context.signal }).byPage({ maxPageSize: 1 }).next();
      return null;
    } catch (error) {
      if (error instanceof DestinationRefusedError || container.refusal()) throw container.refusal() ?? error;
      if ((error as { statusCode?: number }).statusCode) {
        return classifyAzureError(error, { container: config.container_name });
      }
      throw new Error(`Could not reach Azure Blob Storage: ${errorMessage(error)}`, { cause: error });
    }
  });
}

export const AZURE_TEST_STEPS: readonly DestinationTestStep<AzureBlobDestinationConfig>[] = [
  {
    name: 'Connect with the credentials',
    description: 'Sends a request to the storage account with the given endpoint and credentials.',
    async run(config, context) {
      const problem = await containerProblem(config, context);
      if (problem && azureErrorCode(problem.cause) !== 'ContainerNotFound') throw problem;
    },
  },
  {
    name: 'Check the container exists',
    description: 'Looks the container up in the storage account.',
    async run(config, context) {
      const problem = await containerProblem(config, context);
      if (problem) throw problem;
    },
  },
  {
    name: 'Write and delete a test blob',
    description: 'Uploads a small blob under the prefix, then deletes it.',
    async run(config, context) {
      await withContainer(config, context, async ({ client }) => {
        const now = new Date();
        const prefix = renderPrefix(config.prefix, { table: 'events', dataIntervalStart: now, dataIntervalEnd: now });
        const key = `${prefix.replace(/\/+$/, '')}${prefix ? '/' : ''}batch-export-test-${randomUUID()}.txt`;
        const body = 'Written by a batch export connection test; safe to delete.';
        try {
          const blob = client.getBlockBlobClient(key);
          await blob.upload(body, body.length, { abortSignal: context.signal });
          await blob.delete({ abortSignal: context.signal });
        } catch (error) {
          throw classifyAzureError(error, { container: config.container_name, key });
        }
      });
    },
  },
];
