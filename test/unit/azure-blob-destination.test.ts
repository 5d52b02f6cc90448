import { describe, expect, it } from 'vitest';
import { azureEndpoint } from '../../src/destinations/azure-blob/client';
import { AzureBlobDestinationConfig } from '../../src/destinations/azure-blob/config';

const KEY = Buffer.from('a key').toString('base64');

describe('AzureBlob destination config', () => {
  const base = { container_name: 'exports' };

  it('takes exactly one credential, naming the field in the way', () => {
    expect(AzureBlobDestinationConfig.safeParse({ ...base, account_name: 'acct', account_key: KEY }).success).toBe(
      true,
    );
    expect(
      AzureBlobDestinationConfig.safeParse({ ...base, account_name: 'acct', sas_token: 'sv=1&sig=x' }).success,
    ).toBe(true);
    const none = AzureBlobDestinationConfig.safeParse({ ...base, account_name: 'acct' });
    expect(none.error?.issues[0]).toMatchObject({
      path: ['connection_string'],
      message: expect.stringMatching(/exactly one/),
    });
    const two = AzureBlobDestinationConfig.safeParse({
      ...base,
      account_name: 'acct',
      account_key: KEY,
      sas_token: 'x',
    });
    expect(two.error?.issues[0]).toMatchObject({ path: ['sas_token'] });
    const keyless = AzureBlobDestinationConfig.safeParse({ ...base, account_key: KEY });
    expect(keyless.error?.issues[0]).toMatchObject({
      path: ['account_name'],
      message: 'account_key requires account_name',
    });
  });

  it('says what a connection string lacks without quoting it', () => {
    const secret = 'AccountName=acct;Key=super-secret-value';
    const parsed = AzureBlobDestinationConfig.safeParse({ ...base, connection_string: secret });
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['connection_string'],
      message: 'The connection string has neither AccountKey nor SharedAccessSignature',
    });
    expect(JSON.stringify(parsed.error?.issues)).not.toContain('super-secret-value');
    const withAccount = AzureBlobDestinationConfig.safeParse({
      ...base,
      account_name: 'acct',
      connection_string: `AccountName=acct;AccountKey=${KEY}`,
    });
    expect(withAccount.error?.issues[0]).toMatchObject({ path: ['account_name'] });
  });

  it('refuses a container name Azure would refuse', () => {
    for (const name of ['ab', 'Exports', 'double--hyphen', '-leading', 'under_score']) {
      const parsed = AzureBlobDestinationConfig.safeParse({
        container_name: name,
        account_name: 'acct',
        account_key: KEY,
      });
      expect(parsed.error?.issues[0]?.path, name).toEqual(['container_name']);
    }
  });

  it('finds the endpoint and credential of each form', () => {
    const parse = (config: Record<string, unknown>) =>
      azureEndpoint(AzureBlobDestinationConfig.parse({ ...base, ...config }));
    expect(parse({ account_name: 'acct', account_key: KEY })).toMatchObject({
      serviceUrl: 'https://acct.blob.core.windows.net',
      accountKey: { account: 'acct', key: KEY },
      sas: null,
      target: { field: 'account_name' },
    });
    expect(parse({ endpoint_url: 'http://127.0.0.1:10000/devstoreaccount1/', sas_token: '?sv=1&sig=x' })).toMatchObject(
      {
        serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
        accountKey: null,
        sas: 'sv=1&sig=x',
        target: { field: 'endpoint_url', value: 'http://127.0.0.1:10000/devstoreaccount1/' },
      },
    );
    expect(
      parse({
        connection_string: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn`,
      }),
    ).toMatchObject({
      serviceUrl: 'https://acct.blob.core.chinacloudapi.cn',
      accountKey: { account: 'acct', key: KEY },
    });
    expect(
      parse({ connection_string: 'BlobEndpoint=https://acct.example.net/;SharedAccessSignature=sv=1&sig=a=b' }),
    ).toMatchObject({
      serviceUrl: 'https://acct.example.net',
      sas: 'sv=1&sig=a=b',
      // A refusal names the field, never the connection string's value.
      target: { field: 'connection_string' },
    });
  });
});
