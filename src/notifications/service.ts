import { randomUUID } from 'node:crypto';
import { encryptJson } from '../crypto';
import { DestinationRefusedError, NotFoundError, ValidationError } from '../errors';
import { checkHostOnSave } from '../net/policy';
import type { ServiceDependencies } from '../service/batch-exports';
import { requireBatchExport } from '../service/batch-exports';
import { temporalFailure } from '../service/temporal-sync';
import * as db from './db';
import { emitNotification, type EmitDependencies } from './emit';
import type { NotificationEventName } from './events';
import { newSigningSecret } from './signature';

function emitDependencies(deps: ServiceDependencies): EmitDependencies {
  return {
    pool: deps.pool,
    temporal: deps.temporal,
    taskQueue: deps.config.temporal.taskQueue,
    publicUrl: deps.config.api.publicUrl,
    retry: deps.config.notifications.retry,
  };
}

/**
 * A new webhook subscription of the project. The URL's host goes through the destinations' network policy (a 400
 * naming `url` when refused). The signing secret is returned here only: it is stored encrypted and never shown again.
 */
export async function createSubscription(
  deps: ServiceDependencies,
  teamId: number,
  input: { url: string; events: NotificationEventName[] },
): Promise<{ subscription: db.SubscriptionRecord; secret: string }> {
  const url = new URL(input.url);
  try {
    await checkHostOnSave(url.hostname, deps.config.destinationAccess, { field: 'url', value: input.url });
  } catch (error) {
    if (!(error instanceof DestinationRefusedError)) throw error;
    throw new ValidationError(error.message, 'url', 'url_not_allowed');
  }
  const secret = newSigningSecret();
  const subscription = await db.insertSubscription(deps.pool, {
    teamId,
    url: input.url,
    secretEncrypted: encryptJson(deps.config.encryptionKey, secret),
    events: [...new Set(input.events)],
  });
  return { subscription, secret };
}

export async function requireSubscription(
  deps: ServiceDependencies,
  id: string,
  teamIds: number[],
): Promise<db.SubscriptionRecord> {
  const subscription = await db.getSubscription(deps.pool, id, teamIds);
  if (!subscription) throw new NotFoundError(`No webhook ${id}`);
  return subscription;
}

/** Queues a `test` event to the subscription alone, through the same delivery path as real events. */
export async function sendTestEvent(
  deps: ServiceDependencies,
  subscription: db.SubscriptionRecord,
): Promise<db.DeliveryRecord> {
  const event = {
    id: `test:${randomUUID()}`,
    event: 'test' as const,
    teamId: subscription.team_id,
    batchExport: null,
    summary: 'a test event, sent on request',
  };
  try {
    const [delivery] = await emitNotification(emitDependencies(deps), event, { subscriptionId: subscription.id });
    return delivery!;
  } catch (error) {
    throw temporalFailure('start the test delivery', error);
  }
}

/** Sets (or, with null, removes) the export's lateness threshold. */
export async function setFreshnessAlert(
  deps: ServiceDependencies,
  teamIds: number[],
  batchExportId: string,
  lateAfterSeconds: number | null,
): Promise<db.FreshnessAlertRecord | null> {
  await requireBatchExport(deps.pool, batchExportId, teamIds);
  await db.setFreshnessAlert(deps.pool, batchExportId, lateAfterSeconds);
  return db.getFreshnessAlert(deps.pool, batchExportId);
}
