import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { freshnessOf } from '../db/runs';
import { errorMessage } from '../errors';
import type { Logger } from 'pino';
import { listFreshnessAlerts, markLate } from './db';
import { emitNotification, type EmitDependencies } from './emit';
import { latenessEvent } from './hooks';

/**
 * Compares each alerted export's freshness lag (as the API's `freshness.lag_seconds`) with its threshold: crossing
 * it emits `batch_export.late` once, coming back under it `batch_export.recovered` once. Paused exports count: a
 * schedule paused past the threshold is exactly what should be noticed. An export with nothing exported yet has no
 * lag and is left alone.
 */
export async function checkFreshnessAlerts(deps: EmitDependencies, now = new Date()): Promise<void> {
  const alerts = await listFreshnessAlerts(deps.pool);
  if (alerts.length === 0) return;
  const freshness = await freshnessOf(
    deps.pool,
    alerts.map((alert) => alert.batch_export_id),
  );
  for (const alert of alerts) {
    const until = freshness.find((entry) => entry.batch_export_id === alert.batch_export_id)?.exported_until;
    if (!until) continue;
    const lagSeconds = Math.max(0, Math.round((now.getTime() - until.getTime()) / 1000));
    const late = lagSeconds > alert.late_after_seconds;
    if (late === (alert.late_since !== null)) continue;
    // Several workers may check at once: only the one whose update changed the row emits.
    const at = await markLate(deps.pool, alert.batch_export_id, late);
    if (!at) continue;
    const change = {
      batchExportId: alert.batch_export_id,
      late,
      at,
      lagSeconds,
      thresholdSeconds: alert.late_after_seconds,
    };
    const event = await latenessEvent(deps.pool, change);
    if (event) await emitNotification(deps, event);
  }
}

/** Runs `checkFreshnessAlerts` every `intervalMs` until stopped; a failed check is reported and the next one runs. */
export function startFreshnessWatch(
  deps: EmitDependencies,
  intervalMs: number,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => checkFreshnessAlerts(deps)).catch(onError);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** The worker's watch, with the process's Temporal client and the config's settings. */
export function startWorkerFreshnessWatch(
  deps: { pool: Pool; temporal: Client },
  config: Pick<Config, 'temporal' | 'api' | 'notifications'>,
  logger: Logger,
): { stop(): Promise<void> } {
  const emit = {
    ...deps,
    taskQueue: config.temporal.taskQueue,
    publicUrl: config.api.publicUrl,
    retry: config.notifications.retry,
  };
  return startFreshnessWatch(emit, config.notifications.freshnessCheckMs, (error) =>
    logger.warn({ err: errorMessage(error) }, 'Could not check the exports for lateness'),
  );
}
