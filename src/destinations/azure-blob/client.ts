import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import type { DestinationAccess } from '../../config';
import { DestinationRefusedError } from '../../errors';
import { checkHostOnSave, checkLiteralHost, dialledHost, policyLookup, type DialTarget } from '../../net/policy';
import { parseConnectionString, type AzureBlobDestinationConfig } from './config';

/** Azurite's documented development account (`UseDevelopmentStorage=true`): public, well-known values. */
export const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
export const DEVELOPMENT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Where a config's requests go, and with which credential. */
export interface AzureEndpoint {
  /** The blob service URL, without a trailing slash: https://<account>.blob.core.windows.net. */
  serviceUrl: string;
  accountKey: { account: string; key: string } | null;
  /** Without its leading `?`. */
  sas: string | null;
  /** The config field the endpoint comes from, for a refusal (a connection string's value is never quoted). */
  target: DialTarget;
}

/** The endpoint and credential a validated config says to use. */
export function azureEndpoint(config: AzureBlobDestinationConfig): AzureEndpoint {
  if (config.connection_string !== undefined) {
    const settings = parseConnectionString(config.connection_string);
    const target = { field: 'connection_string' };
    if (settings.get('UseDevelopmentStorage') === 'true') {
      const serviceUrl = `http://127.0.0.1:10000/${DEVELOPMENT_ACCOUNT}`;
      return { serviceUrl, accountKey: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY }, sas: null, target };
    }
    const account = settings.get('AccountName');
    const protocol = settings.get('DefaultEndpointsProtocol') ?? 'https';
    const suffix = settings.get('EndpointSuffix') ?? 'core.windows.net';
    const serviceUrl = settings.get('BlobEndpoint') ?? `${protocol}://${account}.blob.${suffix}`;
    const key = settings.get('AccountKey');
    return {
      serviceUrl: serviceUrl.replace(/\/+$/, ''),
      accountKey: key && account ? { account, key } : null,
      sas: key ? null : (settings.get('SharedAccessSignature') ?? '').replace(/^\?/, ''),
      target,
    };
  }
  const serviceUrl = (config.endpoint_url ?? `https://${config.account_name}.blob.core.windows.net`).replace(
    /\/+$/,
    '',
  );
  const target = config.endpoint_url
    ? { field: 'endpoint_url', value: config.endpoint_url }
    : { field: 'account_name' };
  if (config.account_key !== undefined) {
    return { serviceUrl, accountKey: { account: config.account_name!, key: config.account_key }, sas: null, target };
  }
  return { serviceUrl, accountKey: null, sas: (config.sas_token ?? '').replace(/^\?/, ''), target };
}

/** A container client whose connections all go through the network policy, and the refusal it met, if any. */
export interface AzureContainer {
  client: ContainerClient;
  /** Set when the policy refused an address: the SDK reports it as a failed send, which would be retried. */
  refusal(): DestinationRefusedError | null;
  close(): void;
}

/** The SDK's own retries are kept short: retries belong to the activity, which resumes from what it recorded. */
const RETRY_OPTIONS = { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 };

/** Requests of one export share up to this many sockets. */
const MAX_SOCKETS = 50;

/**
 * A client for the config's container. The endpoint's host is checked as each connection resolves it (an IP literal
 * before anything is sent, as Node dials literals without a lookup); the agent dials the address the policy returned.
 * The SDK is loaded on the first call (about 20 MB that a worker never exporting to Azure does not carry).
 */
export async function createAzureContainer(
  config: AzureBlobDestinationConfig,
  access: DestinationAccess,
): Promise<AzureContainer> {
  const endpoint = azureEndpoint(config);
  checkAzureAccess(config, access);
  const { AnonymousCredential, ContainerClient, newPipeline, StorageSharedKeyCredential } =
    await import('@azure/storage-blob');
  let refused: DestinationRefusedError | null = null;
  const checked = policyLookup(access, endpoint.target);
  const lookup: typeof checked = (hostname, options, callback) =>
    checked(hostname, options, (error, address, family) => {
      if (error instanceof DestinationRefusedError) refused = error;
      callback(error, address, family);
    });
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS, lookup };
  const secure = endpoint.serviceUrl.startsWith('https:');
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const credential = endpoint.accountKey
    ? new StorageSharedKeyCredential(endpoint.accountKey.account, endpoint.accountKey.key)
    : new AnonymousCredential();
  // core-rest-pipeline takes the agent every request is sent with (its agentPolicy); the storage typings omit it.
  const options: StoragePipelineOptions & { agent: http.Agent } = { retryOptions: RETRY_OPTIONS, agent };
  const url = `${endpoint.serviceUrl}/${config.container_name}${endpoint.sas ? `?${endpoint.sas}` : ''}`;
  return {
    client: new ContainerClient(url, newPipeline(credential, options)),
    refusal: () => refused,
    close: () => agent.destroy(),
  };
}

/** What can be refused without a lookup: an endpoint that is an IP literal (Node dials those without `lookup`). */
export function checkAzureAccess(config: AzureBlobDestinationConfig, access: DestinationAccess): void {
  const endpoint = azureEndpoint(config);
  checkLiteralHost(endpointHost(endpoint), access, endpoint.target);
}

/** checkAzureAccess, and the endpoint's host name checked as on save (see checkHostOnSave). */
export async function checkAzureAccessOnSave(
  config: AzureBlobDestinationConfig,
  access: DestinationAccess,
): Promise<void> {
  checkAzureAccess(config, access);
  const endpoint = azureEndpoint(config);
  const host = endpointHost(endpoint);
  if (!isIP(host)) await checkHostOnSave(host, access, endpoint.target);
}

function endpointHost(endpoint: AzureEndpoint): string {
  return dialledHost(new URL(endpoint.serviceUrl).hostname);
}
