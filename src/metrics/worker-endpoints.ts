import type { TelemetryOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { startMetricsServer, type MetricsServer } from './server';
import { workerRegistry } from './worker-metrics';

/** `npm run dev` serves the worker's metrics on these ports unless the environment sets others. */
export const DEV_METRICS_PORTS = { WORKER_METRICS_PORT: '9464', TEMPORAL_SDK_METRICS_PORT: '9465' };

/** Runtime.install's telemetry: the SDK's own metrics on TEMPORAL_SDK_METRICS_PORT, when set. */
export function sdkTelemetry(config: Pick<Config, 'metrics'>): { telemetryOptions?: TelemetryOptions } {
  const { host, temporalSdkPort } = config.metrics;
  if (temporalSdkPort === null) return {};
  // The SDK's bind address is host:port; an IPv6 host needs brackets.
  const bindHost = host.includes(':') ? `[${host}]` : host;
  return { telemetryOptions: { metrics: { prometheus: { bindAddress: `${bindHost}:${temporalSdkPort}` } } } };
}

/** Serves the worker's own metrics on WORKER_METRICS_PORT, when set. */
export async function startWorkerMetrics(config: Pick<Config, 'metrics'>): Promise<MetricsServer | null> {
  const { host, workerPort } = config.metrics;
  if (workerPort === null) return null;
  return startMetricsServer({ registry: workerRegistry, host, port: workerPort });
}
