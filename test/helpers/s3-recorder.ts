import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the recorder to S3. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** `partNumber` of an UploadPart (a PUT with `uploadId` and `partNumber`), else null. */
  partNumber: number | null;
  uploadId: string | null;
  /** When the request reached the recorder (ms since the epoch). */
  startedAt: number;
  /** The request's headers as the client sent them (Host, checksum headers, ...). */
  headers: http.IncomingHttpHeaders;
  /** S3's HTTP status; null while unanswered, or when the client went away before S3 answered. */
  status: number | null;
}

export interface S3Recorder {
  /** The endpoint to give S3 clients instead of the real one. */
  endpoint: string;
  requests: RecordedRequest[];
  /** Called as S3's answer to each request arrives. */
  onResponse?: (request: RecordedRequest) => void;
  /** Awaited before a request is relayed to S3: a test holds a request (an upload mid-file) until it resolves. */
  beforeRelay?: (request: RecordedRequest) => Promise<void> | void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of an S3 endpoint that records every request and S3's status for it: what S3 was
 * asked to store, as the server saw it. A request whose body fully arrived is relayed even if its client has died
 * meanwhile, as S3 would store it.
 */
export async function startS3Recorder(target: string): Promise<S3Recorder> {
  const upstream = new URL(target);
  const recorder: S3Recorder = { endpoint: '', requests: [], close: async () => undefined };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://recorder');
    const part = url.searchParams.get('partNumber');
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path: url.pathname,
      partNumber: request.method === 'PUT' && part ? Number(part) : null,
      uploadId: url.searchParams.get('uploadId'),
      startedAt: Date.now(),
      headers: request.headers,
      status: null,
    };
    recorder.requests.push(recorded);
    // The recorder already answered "100 Continue" to the client.
    const headers = { ...request.headers };
    delete headers.expect;
    const relay = () => {
      const relayed = http.request(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
        (answer) => {
          recorded.status = answer.statusCode ?? null;
          recorder.onResponse?.(recorded);
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      relayed.on('error', () => response.destroy());
      request.on('close', () => {
        if (!request.complete) relayed.destroy();
      });
      request.pipe(relayed);
    };
    void Promise.resolve(recorder.beforeRelay?.(recorded)).then(relay, () => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return recorder;
}
