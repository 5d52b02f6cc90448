import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotificationDeliveryInput } from '../src/notifications/emit';

/**
 * Delivers one notification: POSTs it until the receiver answers 2xx, with exponential backoff, and records the
 * delivery failed when the attempts run out (or the URL is refused by the network policy: not retried).
 */
export async function notificationDeliveryWorkflow(input: NotificationDeliveryInput): Promise<void> {
  const { deliverNotification } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: `${input.retry.initialIntervalSeconds} seconds`,
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: input.retry.maximumAttempts,
    },
  });
  const { failNotification } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
  });
  try {
    await deliverNotification({ deliveryId: input.deliveryId });
  } catch (error) {
    const cause = error instanceof ApplicationFailure ? error : (error as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : String(error);
    await failNotification({ deliveryId: input.deliveryId, error: message });
  }
}
