import { z } from 'zod';

/** What a subscription can ask for. `test` is sent only on request (POST .../webhooks/:id/test). */
export const NOTIFICATION_EVENTS = [
  'run.failed',
  'batch_export.paused',
  'backfill.completed',
  'backfill.failed',
  'batch_export.late',
  'batch_export.recovered',
] as const;

export const NotificationEventName = z.enum(NOTIFICATION_EVENTS);
export type NotificationEventName = z.infer<typeof NotificationEventName>;

/** The export an event is about, as the payload names it. */
export interface EventExport {
  id: string;
  name: string;
  destination_type: string;
  model: string;
}

/** What a hook reports; `emitNotification` turns it into one delivery per subscription that wants it. */
export interface NotificationEvent {
  /** Stable for the same occurrence: a second emit with the same id delivers nothing more. */
  id: string;
  event: NotificationEventName | 'test';
  teamId: number;
  batchExport: EventExport | null;
  interval?: { start: string | null; end: string } | null;
  error?: string | null;
  runId?: string | null;
  backfillId?: string | null;
  /** Why, in a sentence, for the `text` field. */
  summary: string;
}

/** The JSON body receivers get. `text` makes a Slack incoming-webhook URL work as the subscription's URL. */
export interface NotificationPayload {
  id: string;
  event: string;
  occurred_at: string;
  team_id: number;
  batch_export: EventExport | null;
  interval: { start: string | null; end: string } | null;
  error: string | null;
  run_id: string | null;
  backfill_id: string | null;
  links: Record<string, string>;
  text: string;
}

/** The body of a notification; `apiUrl` is the API's public URL (links are relative without one). */
export function notificationPayload(event: NotificationEvent, apiUrl: string | null, now: Date): NotificationPayload {
  const base = `${apiUrl ?? ''}/api/projects/${event.teamId}`;
  const links: Record<string, string> = {};
  if (event.batchExport) {
    const exportUrl = `${base}/batch_exports/${event.batchExport.id}`;
    links.batch_export = exportUrl;
    if (event.runId) links.run = `${exportUrl}/runs/${event.runId}`;
    if (event.backfillId) links.backfill = `${exportUrl}/backfills/${event.backfillId}`;
  }
  const name = event.batchExport ? `Batch export "${event.batchExport.name}"` : 'Batch exports';
  const error = event.error ? `: ${event.error}` : '';
  return {
    id: event.id,
    event: event.event,
    occurred_at: now.toISOString(),
    team_id: event.teamId,
    batch_export: event.batchExport,
    interval: event.interval ?? null,
    error: event.error ?? null,
    run_id: event.runId ?? null,
    backfill_id: event.backfillId ?? null,
    links,
    text: `${name} (${event.event}): ${event.summary}${error}${links.batch_export ? ` ${links.batch_export}` : ''}`,
  };
}
