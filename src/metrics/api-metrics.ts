import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { backfillProgressByExport, freshnessLagByExport } from './gauges';

/**
 * GET /metrics on the API: its requests (by route template, never by path, so ids stay out of labels), and what
 * the metadata database says about every export at scrape time: how far behind it is and what its backfills have
 * left. Those two carry `batch_export_id`: an operator alerts on one export being late, and the number of live
 * exports bounds the label (a handful of series each); run ids are never labels.
 */
export function metricsRoutes(pool: Pool) {
  const plugin = async (fastify: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({
      name: 'batch_exports_api_requests_total',
      help: 'API requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    const requestDuration = new Histogram({
      name: 'batch_exports_api_request_duration_seconds',
      help: 'Time to answer an API request, by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    new Gauge({
      name: 'batch_exports_freshness_lag_seconds',
      help: 'Seconds between now and the end of the last interval an export has exported without a gap.',
      labelNames: ['batch_export_id', 'team_id'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await freshnessLagByExport(pool, new Date())) {
          this.set({ batch_export_id: row.batchExportId, team_id: String(row.teamId) }, row.lagSeconds);
        }
      },
    });
    new Gauge({
      name: 'batch_exports_backfill_intervals',
      help: 'Intervals of active backfills, by export and state (done: reached a final status; remaining: not yet).',
      labelNames: ['batch_export_id', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await backfillProgressByExport(pool)) {
          this.set({ batch_export_id: row.batchExportId, state: 'done' }, row.done);
          this.set({ batch_export_id: row.batchExportId, state: 'remaining' }, Math.max(0, row.total - row.done));
        }
      },
    });

    // Hooks on the root instance: every route's requests are counted, not only this plugin's.
    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      if (route === '/metrics') return;
      requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
      requestDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });

    fastify.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    });
  };
  // Not encapsulated (what fastify-plugin does): the onResponse hook sees every route of the server.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
