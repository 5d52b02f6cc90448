import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createBatchExport } from '../src/service/batch-exports';
import { numberArgument, type SuiteResult } from './args';
import { BENCH_TEAM_ID, type BenchContext } from './context';
import { timeBenchInterval } from './one-interval';
import { seedEvents } from './seed';

/**
 * The HTTP destination: the benchmark hour (`--http-events N`, default 1,000,000) POSTed to a receiver in this
 * process that decodes every body and keeps one per idempotency key, in the capture shape and as JSON lines, gzipped,
 * with the default batch size. Measures throughput and the worker's peak memory; checks the receiver got every row.
 */
const SCENARIOS = [
  { name: 'HTTP capture+gzip', config: { format: 'capture', compression: 'gzip' } },
  { name: 'HTTP JSONLines+gzip', config: { format: 'JSONLines', compression: 'gzip' } },
] as const;

export async function httpSuite(context: BenchContext): Promise<SuiteResult> {
  const { pool, client, config } = context;
  const events = numberArgument('http-events', 1_000_000);
  await seedEvents(pool, BENCH_TEAM_ID, events);
  const receiver = await startReceiver();
  const rows = [];
  try {
    for (const scenario of SCENARIOS) {
      receiver.reset();
      const batchExport = await createBatchExport({ pool, temporal: client, config }, BENCH_TEAM_ID, {
        name: scenario.name,
        paused: true,
        destination: { type: 'HTTP', config: { url: receiver.url, token: 'bench-token', ...scenario.config } },
      });
      const { result, seconds, peakRssMb } = await timeBenchInterval(context, batchExport.id);
      if (result.status !== 'Completed' || receiver.rows() !== events) {
        throw new Error(`${scenario.name}: ${result.status}, receiver has ${receiver.rows()} of ${events} rows`);
      }
      rows.push({
        name: scenario.name,
        events,
        seconds: Number(seconds.toFixed(1)),
        rowsPerSecond: Math.round(events / seconds),
        requests: receiver.requests(),
        mbPerSecondSent: Number((result.bytesExported / 1e6 / seconds).toFixed(1)),
        peakRssMb,
      });
    }
  } finally {
    await receiver.close();
  }
  return {
    rows,
    table: rows.map((row) => ({
      export: row.name,
      rows: row.events,
      s: row.seconds,
      'rows/s': row.rowsPerSecond,
      requests: row.requests,
      'MB/s (sent)': row.mbPerSecondSent,
      'peak RSS MB': row.peakRssMb,
    })),
  };
}

/** A loopback receiver that decodes each body, counts its rows, and counts a key once. */
async function startReceiver() {
  let rows = 0;
  let requests = 0;
  const keys = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests += 1;
      const raw = Buffer.concat(chunks);
      const body = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const key = String(request.headers['idempotency-key']);
      if (!keys.has(key)) {
        keys.add(key);
        rows +=
          request.headers['content-type'] === 'application/json'
            ? (JSON.parse(body) as { batch: unknown[] }).batch.length
            : body.split('\n').length - 1;
      }
      response.writeHead(200).end('{"status":1}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/batch/`,
    rows: () => rows,
    requests: () => requests,
    reset() {
      rows = 0;
      requests = 0;
      keys.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
