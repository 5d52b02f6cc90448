import http from 'node:http';
import https from 'node:https';
import { checkLiteralHost, policyLookup, type NetworkPolicy } from '../net/policy';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature } from './signature';

/** A receiver that has not answered in this long is taken as down; the delivery is retried. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * POSTs a signed notification to `url`, through the same network policy as destinations (the host is checked as it
 * resolves, IP literals before connecting). Resolves with the response status; rejects when no response came, or
 * with DestinationRefusedError when the address is refused.
 */
export async function sendNotification(input: {
  url: string;
  secret: string;
  eventId: string;
  body: string;
  policy: NetworkPolicy;
  now?: Date;
}): Promise<number> {
  const url = new URL(input.url);
  const target = { field: 'url', value: input.url };
  checkLiteralHost(url.hostname, input.policy, target);
  const timestamp = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup: policyLookup(input.policy, target),
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'batch-exports-webhooks/1',
          [EVENT_ID_HEADER]: input.eventId,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signature(input.secret, timestamp, input.body),
        },
      },
      (response) => {
        // The body is not needed; reading it lets the socket close.
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.once('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    request.once('error', reject);
    request.end(input.body);
  });
}
