import type { Queryable } from '../db/batch-exports';

export interface SubscriptionRecord {
  id: string;
  team_id: number;
  url: string;
  secret_encrypted: string;
  events: string[];
  created_at: Date;
}

export interface DeliveryRecord {
  id: string;
  subscription_id: string;
  event_id: string;
  event: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_response_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export async function insertSubscription(
  db: Queryable,
  input: { teamId: number; url: string; secretEncrypted: string; events: string[] },
): Promise<SubscriptionRecord> {
  const { rows } = await db.query<SubscriptionRecord>(
    `INSERT INTO notification_subscriptions (team_id, url, secret_encrypted, events)
     VALUES ($1, $2, $3, $4::text[]) RETURNING *`,
    [input.teamId, input.url, input.secretEncrypted, input.events],
  );
  return rows[0]!;
}

export async function listSubscriptions(db: Queryable, teamId: number): Promise<SubscriptionRecord[]> {
  const { rows } = await db.query<SubscriptionRecord>(
    'SELECT * FROM notification_subscriptions WHERE team_id = $1 ORDER BY created_at, id',
    [teamId],
  );
  return rows;
}

export async function getSubscription(
  db: Queryable,
  id: string,
  teamIds: number[],
): Promise<SubscriptionRecord | null> {
  const { rows } = await db.query<SubscriptionRecord>(
    'SELECT * FROM notification_subscriptions WHERE id = $1 AND team_id = ANY($2::bigint[])',
    [id, teamIds],
  );
  return rows[0] ?? null;
}

export async function deleteSubscription(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM notification_subscriptions WHERE id = $1', [id]);
}

/** Subscriptions of the team that want the event; `test` goes only to the one given. */
export async function subscribersOf(db: Queryable, teamId: number, event: string): Promise<SubscriptionRecord[]> {
  const { rows } = await db.query<SubscriptionRecord>(
    'SELECT * FROM notification_subscriptions WHERE team_id = $1 AND $2 = ANY(events)',
    [teamId, event],
  );
  return rows;
}

/** The delivery of an event to a subscription, or null when that event was already queued for it (at most once). */
export async function insertDelivery(
  db: Queryable,
  input: { subscriptionId: string; eventId: string; event: string; payload: object },
): Promise<DeliveryRecord | null> {
  const { rows } = await db.query<DeliveryRecord>(
    `INSERT INTO notification_deliveries (subscription_id, event_id, event, payload)
     VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING *`,
    [input.subscriptionId, input.eventId, input.event, JSON.stringify(input.payload)],
  );
  return rows[0] ?? null;
}

export async function getDelivery(db: Queryable, id: string): Promise<DeliveryRecord | null> {
  const { rows } = await db.query<DeliveryRecord>('SELECT * FROM notification_deliveries WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** The latest deliveries to a subscription, newest first. */
export async function listDeliveries(db: Queryable, subscriptionId: string, limit: number): Promise<DeliveryRecord[]> {
  const { rows } = await db.query<DeliveryRecord>(
    `SELECT * FROM notification_deliveries WHERE subscription_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [subscriptionId, limit],
  );
  return rows;
}

/** Records one attempt: its response code (null when none came) and error; `status` once it is final. */
export async function recordDeliveryAttempt(
  db: Queryable,
  id: string,
  attempt: { responseCode: number | null; error: string | null; status: DeliveryRecord['status'] },
): Promise<void> {
  await db.query(
    `UPDATE notification_deliveries
     SET attempts = attempts + 1, last_response_code = $2, last_error = $3, status = $4,
         delivered_at = CASE WHEN $4 = 'delivered' THEN now() END
     WHERE id = $1`,
    [id, attempt.responseCode, attempt.error, attempt.status],
  );
}

export async function markDeliveryFailed(db: Queryable, id: string, error: string): Promise<void> {
  await db.query(
    `UPDATE notification_deliveries SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'`,
    [id, error],
  );
}

export interface FreshnessAlertRecord {
  batch_export_id: string;
  late_after_seconds: number;
  late_since: Date | null;
}

export async function setFreshnessAlert(db: Queryable, batchExportId: string, lateAfterSeconds: number | null) {
  if (lateAfterSeconds === null) {
    await db.query('DELETE FROM batch_export_freshness_alerts WHERE batch_export_id = $1', [batchExportId]);
    return;
  }
  await db.query(
    `INSERT INTO batch_export_freshness_alerts (batch_export_id, late_after_seconds) VALUES ($1, $2)
     ON CONFLICT (batch_export_id) DO UPDATE SET late_after_seconds = EXCLUDED.late_after_seconds`,
    [batchExportId, lateAfterSeconds],
  );
}

export async function getFreshnessAlert(db: Queryable, batchExportId: string): Promise<FreshnessAlertRecord | null> {
  const { rows } = await db.query<FreshnessAlertRecord>(
    'SELECT * FROM batch_export_freshness_alerts WHERE batch_export_id = $1',
    [batchExportId],
  );
  return rows[0] ?? null;
}

/** Alerts of exports that are not deleted. */
export async function listFreshnessAlerts(db: Queryable): Promise<FreshnessAlertRecord[]> {
  const { rows } = await db.query<FreshnessAlertRecord>(
    `SELECT a.* FROM batch_export_freshness_alerts a JOIN batch_exports e ON e.id = a.batch_export_id
     WHERE NOT e.deleted`,
  );
  return rows;
}

/**
 * Moves an alert to late (`late` true) or back; true when this call changed it. Several workers checking at once
 * agree: only one of them sees the change, so only one emits the event.
 */
export async function markLate(db: Queryable, batchExportId: string, late: boolean): Promise<Date | null> {
  const { rows } = await db.query<{ changed_at: Date }>(
    `UPDATE batch_export_freshness_alerts
     SET late_since = CASE WHEN $2 THEN now() END
     WHERE batch_export_id = $1 AND (late_since IS NULL) = $2
     RETURNING COALESCE(late_since, now()) AS changed_at`,
    [batchExportId, late],
  );
  return rows[0]?.changed_at ?? null;
}
