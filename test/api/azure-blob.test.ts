import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AZURITE_KEY,
  AZURITE_ACCOUNT,
  createContainer,
  listContainer,
  startAzurite,
  testAzureDestination,
  type Azurite,
} from '../helpers/azurite';
import { useApiTest } from './helpers';

describe('the AzureBlob destination through the API', () => {
  const api = useApiTest();
  let azurite: Azurite;
  let org: string;

  beforeAll(async () => {
    azurite = await startAzurite();
    org = `/api/organizations/${api.organizationId}/batch_exports`;
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  const runStep = async (step: number, destination: unknown) =>
    api.call('POST', `${org}/run_test_step_new`, { body: { name: 'draft', step, destination } });

  /** A SAS token for the container, as the Azure portal gives one: read, add, create, write, delete, list. */
  function containerSas(container: string): string {
    return generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse('racwdl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    ).toString();
  }

  it('lists its steps', async () => {
    const response = await api.call('GET', `${org}/test?destination=AzureBlob`);
    expect(response.status).toBe(200);
    expect(response.body.steps.map((step: { name: string }) => step.name)).toEqual([
      'Connect with the credentials',
      'Check the container exists',
      'Write and delete a test blob',
    ]);
  });

  it('passes every step with an account key, a connection string or a SAS token, leaving no test blob', async () => {
    const container = await createContainer(azurite);
    const withKey = testAzureDestination(azurite, container, { prefix: 'checks/{year}' });
    const withConnectionString = {
      type: 'AzureBlob',
      config: { container_name: container, connection_string: azurite.connectionString },
    };
    const withSas = {
      type: 'AzureBlob',
      config: { container_name: container, endpoint_url: azurite.endpoint, sas_token: `?${containerSas(container)}` },
    };
    for (const [name, destination] of Object.entries({ withKey, withConnectionString, withSas })) {
      for (const step of [0, 1, 2]) {
        const response = await runStep(step, destination);
        expect(response.status, `${name} step ${step}`).toBe(200);
        expect(response.body.result, `${name} step ${step}`).toEqual({ status: 'Passed', message: null });
      }
    }
    expect(await listContainer(azurite, container)).toEqual({ blobs: [], uncommitted: [] });
  });

  it('fails the credentials step on a wrong key without echoing it, and the container step on a missing container', async () => {
    const container = await createContainer(azurite);
    const wrongKey = Buffer.from('a wrong key of some length').toString('base64');
    const badKey = await runStep(0, testAzureDestination(azurite, container, { account_key: wrongKey }));
    expect(badKey.body.result.status).toBe('Failed');
    expect(badKey.body.result.message).toMatch(/check connection_string, account_key or sas_token/);
    expect(badKey.text).not.toContain(wrongKey);

    const missing = testAzureDestination(azurite, 'no-such-container');
    expect((await runStep(0, missing)).body.result).toEqual({ status: 'Passed', message: null });
    const exists = await runStep(1, missing);
    expect(exists.body.result.status).toBe('Failed');
    expect(exists.body.result.message).toMatch(/^The container does not exist: check container_name/);
  });

  it('refuses configs that cannot work with a 400 naming the field, never quoting a connection string', async () => {
    const container = await createContainer(azurite);
    const both = testAzureDestination(azurite, container, { sas_token: 'sv=2024' });
    const twoCredentials = await runStep(0, both);
    expect(twoCredentials.status).toBe(400);
    expect(twoCredentials.body.attr).toBe('destination.config.sas_token');

    const secret = 'AccountName=acct;SharedAccessKey=very-secret';
    const badString = await runStep(0, {
      type: 'AzureBlob',
      config: { container_name: container, connection_string: secret },
    });
    expect(badString.status).toBe(400);
    expect(badString.body.attr).toBe('destination.config.connection_string');
    expect(badString.text).not.toContain('very-secret');

    const badName = await runStep(0, testAzureDestination(azurite, 'Not_A_Container'));
    expect(badName.status).toBe(400);
    expect(badName.body.attr).toBe('destination.config.container_name');
  });

  it('sends nothing to an endpoint the network policy refuses', async () => {
    const destination = testAzureDestination(azurite, 'some-container', { endpoint_url: 'http://10.1.2.3:10000/acct' });
    for (const response of [
      await runStep(0, destination),
      await api.call('POST', org, { body: { name: 'refused', destination } }),
    ]) {
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({ code: 'destination_not_allowed', attr: 'destination.config.endpoint_url' });
    }
  });

  it('keeps the key write-only and bound to the account, container and endpoint', async () => {
    const container = await createContainer(azurite);
    const created = await api.call('POST', org, {
      body: { name: 'azure', destination: testAzureDestination(azurite, container) },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.destination.config).not.toHaveProperty('account_key');
    expect(created.text).not.toContain(AZURITE_KEY);
    const fetched = await api.call('GET', `${org}/${created.body.id}`);
    expect(fetched.text).not.toContain(AZURITE_KEY);

    const moved = await api.call('PATCH', `${org}/${created.body.id}`, {
      body: { destination: { type: 'AzureBlob', config: { container_name: 'another-container' } } },
    });
    expect(moved.status).toBe(400);
    expect(moved.body).toMatchObject({ code: 'secret_required', attr: 'destination.config.account_key' });

    const stepOnSaved = await api.call('POST', `${org}/${created.body.id}/run_test_step`, { body: { step: 2 } });
    expect(stepOnSaved.body.result).toEqual({ status: 'Passed', message: null });
  });
});
