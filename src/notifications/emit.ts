import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { insertDelivery, subscribersOf, type DeliveryRecord } from './db';
import { notificationPayload, type NotificationEvent } from './events';

/** The workflow type that delivers one notification (workflows/notification-delivery.ts). */
export const DELIVERY_WORKFLOW = 'notification-delivery';

/** How a delivery is retried while the receiver is down or answers an error. */
export interface DeliveryRetry {
  initialIntervalSeconds: number;
  maximumAttempts: number;
}

/** The input of the delivery workflow. */
export interface NotificationDeliveryInput {
  deliveryId: string;
  retry: DeliveryRetry;
}

export interface EmitDependencies {
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  /** The API's public URL, for the payload's links; relative links when null. */
  publicUrl: string | null;
  retry: DeliveryRetry;
}

/**
 * Queues the event for each of the team's subscriptions that wants it (`only`: that subscription alone, for test
 * events): one delivery row, then one delivery workflow. The row is unique per subscription and event id, and the
 * workflow id is the row's, so an event emitted twice (a retried activity, two workers) is delivered once.
 */
export async function emitNotification(
  deps: EmitDependencies,
  event: NotificationEvent,
  only?: { subscriptionId: string },
): Promise<DeliveryRecord[]> {
  const subscribers = only ? [{ id: only.subscriptionId }] : await subscribersOf(deps.pool, event.teamId, event.event);
  const payload = notificationPayload(event, deps.publicUrl, new Date());
  const queued: DeliveryRecord[] = [];
  for (const subscriber of subscribers) {
    const delivery = await insertDelivery(deps.pool, {
      subscriptionId: subscriber.id,
      eventId: event.id,
      event: event.event,
      payload,
    });
    if (!delivery) continue;
    const input: NotificationDeliveryInput = { deliveryId: delivery.id, retry: deps.retry };
    await deps.temporal.workflow.start(DELIVERY_WORKFLOW, {
      taskQueue: deps.taskQueue,
      workflowId: `notification-${delivery.id}`,
      args: [input],
    });
    queued.push(delivery);
  }
  return queued;
}
