import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureContainer } from '../../src/destinations/azure-blob/client';
import { AzureBlobDestinationConfig } from '../../src/destinations/azure-blob/config';
import { azureStore } from '../../src/destinations/azure-blob/store';
import { DestinationRefusedError } from '../../src/errors';
import { AZURITE_ACCOUNT, AZURITE_KEY, createContainer, startAzurite, type Azurite } from '../helpers/azurite';

/**
 * The network policy at every connection of a run: an endpoint named by a host name is checked as the agent resolves
 * it, and the SDK's report of the refused send (a retryable "failed send") is replaced by the policy's refusal.
 */
describe('the AzureBlob client and the network policy', () => {
  let azurite: Azurite;
  let container: string;

  beforeAll(async () => {
    azurite = await startAzurite();
    container = await createContainer(azurite);
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  const configFor = (host: string) =>
    AzureBlobDestinationConfig.parse({
      account_name: AZURITE_ACCOUNT,
      account_key: AZURITE_KEY,
      endpoint_url: azurite.endpoint.replace('127.0.0.1', host),
      container_name: container,
    });

  it('refuses a host name that resolves to loopback when loopback is not allowed, sending nothing', async () => {
    const opened = await createAzureContainer(configFor('localhost'), { allowedNetworks: [], s3WorkerCredentials: false });
    const store = azureStore(opened.client, opened.refusal);
    try {
      const error = await store.put('refused.txt', 'x', 'text/plain').then(
        () => null,
        (caught: unknown) => store.classify(caught),
      );
      expect(error).toBeInstanceOf(DestinationRefusedError);
      expect(error).toMatchObject({ kind: 'configuration' });
      expect(error!.message).toMatch(/^endpoint_url ".*localhost.*" resolves to a loopback address/);
    } finally {
      opened.close();
    }
  });

  it('writes through a host name the policy allows, dialling the address it checked', async () => {
    const allowed = { allowedNetworks: ['127.0.0.0/8', '::1/128'], s3WorkerCredentials: false };
    const opened = await createAzureContainer(configFor('localhost'), allowed);
    try {
      await azureStore(opened.client, opened.refusal).put('allowed.txt', 'x', 'text/plain');
      expect(await opened.client.getBlobClient('allowed.txt').exists()).toBe(true);
    } finally {
      opened.close();
    }
  });

  it('refuses an IP literal before anything is sent', async () => {
    await expect(
      createAzureContainer(configFor('127.0.0.1'), { allowedNetworks: [], s3WorkerCredentials: false }),
    ).rejects.toThrow(DestinationRefusedError);
  });
});
