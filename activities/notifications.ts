import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { decryptJson } from '../src/crypto';
import { DestinationRefusedError, errorMessage } from '../src/errors';
import { getDelivery, markDeliveryFailed, recordDeliveryAttempt } from '../src/notifications/db';
import { emitNotification } from '../src/notifications/emit';
import type { NotificationEvent } from '../src/notifications/events';
import { sendNotification } from '../src/notifications/send';
import type { ActivityDependencies } from './dependencies';

export interface DeliveryRef {
  deliveryId: string;
}

/**
 * Emits a notification from inside an activity (a run's or a backfill's bookkeeping): best effort, since a webhook
 * problem must never fail the export's own bookkeeping. `build` returns null when there is nothing to say.
 */
export async function notifyFromActivity(
  { pool, config }: ActivityDependencies,
  build: () => Promise<NotificationEvent | null>,
): Promise<void> {
  try {
    const event = await build();
    if (!event) return;
    await emitNotification(
      {
        pool,
        temporal: Context.current().client,
        taskQueue: Context.current().info.taskQueue,
        publicUrl: config.api.publicUrl,
        retry: config.notifications.retry,
      },
      event,
    );
  } catch (error) {
    log.warn('Could not queue a notification', { error: errorMessage(error) });
  }
}

export function createNotificationActivities({ pool, config }: ActivityDependencies) {
  return {
    /** One POST of the delivery; throws (retried by the workflow's policy) unless the receiver answers 2xx. */
    async deliverNotification({ deliveryId }: DeliveryRef): Promise<void> {
      const delivery = await getDelivery(pool, deliveryId);
      if (!delivery || delivery.status !== 'pending') return;
      const { rows } = await pool.query<{ url: string; secret_encrypted: string }>(
        'SELECT url, secret_encrypted FROM notification_subscriptions WHERE id = $1',
        [delivery.subscription_id],
      );
      const subscription = rows[0];
      if (!subscription) return;
      const secret = decryptJson(config.encryptionKey, subscription.secret_encrypted) as string;
      let code: number;
      try {
        code = await sendNotification({
          url: subscription.url,
          secret,
          eventId: delivery.event_id,
          body: JSON.stringify(delivery.payload),
          policy: config.destinationAccess,
        });
      } catch (error) {
        await recordDeliveryAttempt(pool, deliveryId, {
          responseCode: null,
          error: errorMessage(error),
          status: 'pending',
        });
        if (error instanceof DestinationRefusedError) throw ApplicationFailure.nonRetryable(error.message, 'refused');
        throw ApplicationFailure.retryable(`The webhook could not be reached: ${errorMessage(error)}`, 'unreachable');
      }
      const delivered = code >= 200 && code < 300;
      await recordDeliveryAttempt(pool, deliveryId, {
        responseCode: code,
        error: delivered ? null : `answered HTTP ${code}`,
        status: delivered ? 'delivered' : 'pending',
      });
      if (!delivered) throw ApplicationFailure.retryable(`The webhook answered HTTP ${code}`, 'rejected');
      log.info('Notification delivered', { delivery_id: deliveryId, event: delivery.event, response_code: code });
    },

    /** The delivery gave up: recorded as failed with the last error. */
    async failNotification(input: DeliveryRef & { error: string }): Promise<void> {
      await markDeliveryFailed(pool, input.deliveryId, input.error);
    },
  };
}
