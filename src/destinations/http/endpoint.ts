import http from 'node:http';
import https from 'node:https';
import type { DestinationAccess } from '../../config';
import { checkHostOnSave, checkLiteralHost, dialledHost, policyLookup, type DialTarget } from '../../net/policy';
import type { HttpDestinationConfig } from './config';

/** What the endpoint answered: enough to decide on a retry and to tell the user why it refused. */
export interface HttpAnswer {
  status: number;
  /** The Retry-After header, as sent. */
  retryAfter: string | null;
  /** The Location header of a redirect, as sent. */
  location: string | null;
  /** The start of the response body (at most EXCERPT_BYTES), for error messages. */
  body: string;
}

/** How much of a response body is kept for an error message. */
const EXCERPT_BYTES = 2048;

/** A request that got no answer within the config's timeout_seconds. */
export class HttpTimeoutError extends Error {
  override name = 'HttpTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * The receiving endpoint of one export. Every connection goes through the network policy: an IP literal is checked
 * before anything is dialled, a name as its one lookup resolves (the socket dials the checked address). Redirects
 * are never followed (node:http does not): the caller refuses them, so a 307 cannot send the token elsewhere.
 */
export class HttpEndpoint {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(config: Pick<HttpDestinationConfig, 'url' | 'timeout_seconds'>, access: DestinationAccess) {
    this.url = new URL(config.url);
    const target: DialTarget = { field: 'url', value: config.url };
    checkLiteralHost(this.url.hostname, access, target);
    const options = { keepAlive: true, maxSockets: 1, lookup: policyLookup(access, target) };
    this.agent = this.url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    this.timeoutMs = config.timeout_seconds * 1000;
  }

  /** POSTs `body`; resolves with any answer (2xx or not), rejects when none came (network, timeout, policy). */
  post(body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpAnswer> {
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = client.request(this.url, {
        method: 'POST',
        agent: this.agent,
        signal,
        headers: { ...headers, 'content-length': String(body.length) },
      });
      request.setTimeout(this.timeoutMs, () =>
        request.destroy(new HttpTimeoutError(`no answer within ${this.timeoutMs / 1000} s (timeout_seconds)`)),
      );
      request.once('error', reject);
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          // The rest is read and dropped, so that the connection can serve the next batch.
          if (kept < EXCERPT_BYTES) chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
          kept += chunk.length;
        });
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: headerValue(response.headers['retry-after']),
            location: headerValue(response.headers.location),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** The checks made when a config is saved: an IP literal as it is, a host name as it resolves now. */
export async function checkHttpAccess(config: HttpDestinationConfig, access: DestinationAccess): Promise<void> {
  await checkHostOnSave(dialledHost(new URL(config.url).hostname), access, { field: 'url', value: config.url });
}
