import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DestinationAccess } from '../../config';
import { DestinationRefusedError } from '../../errors';
import { checkHostOnSave, checkLiteralHost, dialledHost, policyLookup, type DialTarget } from '../../net/policy';
import type { S3DestinationConfig } from './config';

/** The SDK's own default: requests of one export share up to this many sockets. */
const MAX_SOCKETS = 50;

/**
 * An S3 client for one destination, whose every connection goes through the network policy (the official AWS
 * endpoints included: public addresses pass). Credentials come from the config; without them, the worker's own
 * AWS credentials only when the operator allows it.
 */
export function createS3Client(config: S3DestinationConfig, access: DestinationAccess): S3Client {
  checkS3Access(config, access);
  const custom = Boolean(config.endpoint_url);
  // Without endpoint_url, a refusal names the AWS host resolved (an S3 interface endpoint on private addresses).
  const target: DialTarget = custom ? { field: 'endpoint_url', value: config.endpoint_url! } : { field: 'region' };
  const checksums = config.checksum_calculation ?? (custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED');
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS, lookup: policyLookup(access, target) };
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint_url ?? undefined,
    // Path style unless asked otherwise: S3-compatible stores rarely serve bucket subdomains.
    forcePathStyle: custom ? !config.use_virtual_style_addressing : false,
    credentials:
      config.aws_access_key_id && config.aws_secret_access_key
        ? { accessKeyId: config.aws_access_key_id, secretAccessKey: config.aws_secret_access_key }
        : undefined,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    }),
    // Several S3-compatible stores reject the CRC32 checksum headers the SDK sends by default.
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // Retries belong to the activity, which resumes from its heartbeat; the SDK's own are kept short.
    maxAttempts: 3,
  });
}

/** Idle clients kept at most; a client in use is never dropped. */
const CLIENTS_KEPT = 32;

interface KeptClient {
  client: S3Client;
  users: number;
}

/** Per network policy, clients by a hash of what createS3Client makes them of (credentials included), oldest first. */
const keptClients = new WeakMap<DestinationAccess, Map<string, KeptClient>>();

/**
 * An S3 client for `config` kept between attempts, with its open connections: a run of a small interval no longer
 * builds a client and dials S3 (a backfill runs hundreds a minute; docs/notes/issue-19-session-g.md). Clients are
 * shared only by configs that make the same client (same credentials, endpoint and policy). `release` when done.
 */
export function acquireS3Client(
  config: S3DestinationConfig,
  access: DestinationAccess,
): { client: S3Client; release: () => void } {
  checkS3Access(config, access);
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        config.region,
        config.endpoint_url ?? null,
        config.use_virtual_style_addressing,
        config.checksum_calculation ?? null,
        config.aws_access_key_id ?? null,
        config.aws_secret_access_key ?? null,
      ]),
    )
    .digest('hex');
  let clients = keptClients.get(access);
  if (!clients) keptClients.set(access, (clients = new Map()));
  let kept = clients.get(key);
  if (kept) {
    // Most recently used last.
    clients.delete(key);
  } else {
    kept = { client: createS3Client(config, access), users: 0 };
  }
  clients.set(key, kept);
  kept.users++;
  for (const [oldKey, old] of clients) {
    if (clients.size <= CLIENTS_KEPT) break;
    if (old.users > 0) continue;
    clients.delete(oldKey);
    old.client.destroy();
  }
  const entry = kept;
  let released = false;
  return {
    client: entry.client,
    release: () => {
      if (!released) entry.users--;
      released = true;
    },
  };
}

/**
 * What can be refused without a lookup: keyless access the operator does not lend, and an endpoint_url that is an
 * IP literal (node:net dials those without calling `lookup`). Host names are checked as each connection resolves them.
 */
export function checkS3Access(config: S3DestinationConfig, access: DestinationAccess): void {
  if (!config.aws_access_key_id && !access.s3WorkerCredentials) {
    throw new DestinationRefusedError(
      'aws_access_key_id and aws_secret_access_key are required: this service does not lend its own AWS credentials',
      'aws_access_key_id',
    );
  }
  const host = endpointHost(config);
  if (host) checkLiteralHost(host, access, { field: 'endpoint_url', value: config.endpoint_url! });
}

/** checkS3Access, and an endpoint_url host name checked as on save (see checkHostOnSave). */
export async function checkS3AccessOnSave(config: S3DestinationConfig, access: DestinationAccess): Promise<void> {
  checkS3Access(config, access);
  const host = endpointHost(config);
  if (host && !isIP(host)) await checkHostOnSave(host, access, { field: 'endpoint_url', value: config.endpoint_url! });
}

/** The host of endpoint_url, without the brackets of an IPv6 literal; null without endpoint_url. */
export function endpointHost(config: S3DestinationConfig): string | null {
  return config.endpoint_url ? dialledHost(new URL(config.endpoint_url).hostname) : null;
}
