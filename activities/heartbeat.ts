import type { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` on a timer until the returned function is called. Progress alone is not enough: the first
 * rows of a large interval may take longer than the heartbeat timeout to arrive (Postgres sorts the interval first),
 * and a live attempt must not be taken for dead. A killed worker stops the timer too, which is what the timeout is
 * for. The SDK throttles what reaches the server; the latest details always get through.
 */
export function keepHeartbeating(context: Context, details: () => unknown): () => void {
  const timeoutMs = context.info.heartbeatTimeoutMs || 60_000;
  const beat = () => context.heartbeat(details());
  beat();
  const timer = setInterval(beat, Math.max(500, timeoutMs / 4));
  return () => clearInterval(timer);
}
