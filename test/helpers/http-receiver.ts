import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request as the receiver saw it, its body decoded (gunzipped when Content-Encoding says gzip). */
export interface ReceivedBatch {
  headers: IncomingHttpHeaders;
  /** The body as sent (compressed when it was). */
  raw: Buffer;
  body: string;
  key: string | null;
  /** What the receiver answered. */
  status: number;
  /** When the request's body had arrived (Date.now()). */
  at: number;
}

/** An answer the receiver gives instead of 200; status 0 closes the connection without answering. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Waits this long before answering (instead of the receiver's delayMs). */
  delayMs?: number;
}

/**
 * A receiver of batches on 127.0.0.1, like an endpoint that honours idempotency keys: it records every request,
 * and keeps the first body acknowledged under each key (`accepted`), so that a replay of a key is recorded but not
 * kept. It can be told to fail (`answerNext`), throttle (429 with Retry-After), be slow (`delayMs`) or require a
 * token.
 */
export interface HttpReceiver {
  url: string;
  port: number;
  requests: ReceivedBatch[];
  /** Bodies kept, by idempotency key, in the order first acknowledged. */
  accepted: Map<string, string>;
  /** Answers the next requests with these, in order, before going back to 200. */
  answerNext(...answers: ScriptedAnswer[]): void;
  /** Waits this long before answering each request. */
  delayMs: number;
  /** When set, requests without `Authorization: Bearer <token>` or `"api_key": <token>` get a 401 echoing the body. */
  token: string | null;
  connections(): number;
  close(): Promise<void>;
}

export async function startHttpReceiver(path = '/batch/'): Promise<HttpReceiver> {
  let connections = 0;
  const script: ScriptedAnswer[] = [];
  const receiver: HttpReceiver = {
    url: '',
    port: 0,
    requests: [],
    accepted: new Map(),
    answerNext: (...answers) => script.push(...answers),
    delayMs: 0,
    token: null,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const key = (request.headers['idempotency-key'] as string | undefined) ?? null;
      let answer: ScriptedAnswer = { status: 200, body: '{"status":1}' };
      if (receiver.token !== null && !carriesToken(request.headers, body, receiver.token)) {
        answer = { status: 401, body: `invalid token in ${body.slice(0, 80)}` };
      } else if (script.length) {
        answer = script.shift()!;
      }
      receiver.requests.push({ headers: request.headers, raw, body, key, status: answer.status, at: Date.now() });
      setTimeout(() => {
        if (answer.status === 0) return void request.socket.destroy();
        if (answer.status < 300 && key !== null && !receiver.accepted.has(key)) receiver.accepted.set(key, body);
        response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
      }, answer.delayMs ?? receiver.delayMs);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}${path}`;
  return receiver;
}

function carriesToken(headers: IncomingHttpHeaders, body: string, token: string): boolean {
  if (headers.authorization === `Bearer ${token}`) return true;
  try {
    return (JSON.parse(body) as { api_key?: unknown }).api_key === token;
  } catch {
    return false;
  }
}

/** The rows of the batches kept, parsed: the events of capture bodies, or the lines of JSON-lines bodies. */
export function acceptedRows(receiver: HttpReceiver, format: 'capture' | 'JSONLines'): Array<Record<string, unknown>> {
  return [...receiver.accepted.values()].flatMap((body) =>
    format === 'capture'
      ? (JSON.parse(body) as { batch: Array<Record<string, unknown>> }).batch
      : body
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}
