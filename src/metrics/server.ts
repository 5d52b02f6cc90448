import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` from `registry` on host:port, for Prometheus to scrape; everything else is a 404. */
export async function startMetricsServer(options: {
  registry: Registry;
  host: string;
  port: number;
}): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end('Not found: metrics are at GET /metrics\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
      () => response.writeHead(500).end('Could not collect the metrics\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
