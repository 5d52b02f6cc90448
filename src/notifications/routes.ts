import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NoContent, scopedParams, withErrors, zodApp } from '../api/routes/common';
import { ExportParams, ProjectParams } from '../api/schemas';
import type { ServiceDependencies } from '../service/batch-exports';
import * as db from './db';
import { NOTIFICATION_EVENTS, NotificationEventName } from './events';
import { createSubscription, requireSubscription, sendTestEvent, setFreshnessAlert } from './service';

const TAG = 'notifications';

const WebhookBody = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .describe('Where events are POSTed (a Slack incoming-webhook URL works as is).'),
  events: z
    .array(NotificationEventName)
    .min(1)
    .describe(`The events wanted, any of: ${NOTIFICATION_EVENTS.join(', ')}.`),
});

const Webhook = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
  created_at: z.iso.datetime(),
});
const CreatedWebhook = Webhook.extend({
  secret: z.string().describe('The signing secret (HMAC-SHA256). Shown in this response only: keep it.'),
});

const Delivery = z.object({
  id: z.uuid(),
  event_id: z.string(),
  event: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  last_response_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.iso.datetime(),
  delivered_at: z.iso.datetime().nullable(),
  payload: z.record(z.string(), z.unknown()),
});

const FreshnessAlertBody = z.strictObject({
  late_after_seconds: z
    .number()
    .int()
    .positive()
    .max(365 * 86400)
    .nullable()
    .describe(
      'The export is late (and `batch_export.late` is sent) once its freshness lag is above this; null: no alert.',
    ),
});
const FreshnessAlert = z.object({
  late_after_seconds: z.number().int().nullable(),
  late_since: z.iso.datetime().nullable().describe('Since when the export has been late; null while it is not.'),
});

const WebhookParams = ProjectParams.extend({ id: z.guid().describe('The id of the webhook.') });

const presentWebhook = (record: db.SubscriptionRecord) => ({
  id: record.id,
  url: record.url,
  events: record.events,
  created_at: record.created_at.toISOString(),
});

const presentDelivery = (record: db.DeliveryRecord) => ({
  id: record.id,
  event_id: record.event_id,
  event: record.event,
  status: record.status,
  attempts: record.attempts,
  last_response_code: record.last_response_code,
  last_error: record.last_error,
  created_at: record.created_at.toISOString(),
  delivered_at: record.delivered_at?.toISOString() ?? null,
  payload: record.payload,
});

/** A project's webhooks (create, list, delete, test, deliveries) and an export's lateness alert. */
export function notificationRoutes(deps: ServiceDependencies) {
  return async (fastify: FastifyInstance) => {
    const app = zodApp(fastify);
    const read = { scope: 'batch_export:read' } as const;
    const write = { scope: 'batch_export:write' } as const;

    app.post('/webhooks', {
      config: write,
      schema: {
        tags: [TAG],
        summary: 'Create a webhook',
        description: 'Events are POSTed as JSON, signed with the secret returned here (and only here).',
        params: ProjectParams,
        body: WebhookBody,
        response: withErrors({ 201: CreatedWebhook }),
      },
      handler: async (request, reply) => {
        const { subscription, secret } = await createSubscription(deps, request.params.project_id, request.body);
        return reply.status(201).send({ ...presentWebhook(subscription), secret });
      },
    });

    app.get('/webhooks', {
      config: read,
      schema: {
        tags: [TAG],
        summary: "List the project's webhooks",
        params: ProjectParams,
        response: withErrors({ 200: z.object({ results: z.array(Webhook) }) }),
      },
      handler: async (request) => ({
        results: (await db.listSubscriptions(deps.pool, request.params.project_id)).map(presentWebhook),
      }),
    });

    app.delete('/webhooks/:id', {
      config: write,
      schema: {
        tags: [TAG],
        summary: 'Delete a webhook',
        params: WebhookParams,
        response: withErrors({ 204: NoContent }),
      },
      handler: async (request, reply) => {
        const subscription = await requireSubscription(deps, request.params.id, request.access.teamIds);
        await db.deleteSubscription(deps.pool, subscription.id);
        return reply.status(204).send(null);
      },
    });

    app.post('/webhooks/:id/test', {
      config: write,
      schema: {
        tags: [TAG],
        summary: 'Send a test event',
        description: 'Queued like any event: the delivery is listed under the webhook’s deliveries.',
        params: WebhookParams,
        response: withErrors({ 202: Delivery }),
      },
      handler: async (request, reply) => {
        const subscription = await requireSubscription(deps, request.params.id, request.access.teamIds);
        return reply.status(202).send(presentDelivery(await sendTestEvent(deps, subscription)));
      },
    });

    app.get('/webhooks/:id/deliveries', {
      config: read,
      schema: {
        tags: [TAG],
        summary: "List a webhook's latest deliveries",
        params: WebhookParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: withErrors({ 200: z.object({ results: z.array(Delivery) }) }),
      },
      handler: async (request) => {
        const subscription = await requireSubscription(deps, request.params.id, request.access.teamIds);
        const deliveries = await db.listDeliveries(deps.pool, subscription.id, request.query.limit);
        return { results: deliveries.map(presentDelivery) };
      },
    });

    app.put('/batch_exports/:batch_export_id/freshness_alert', {
      config: write,
      schema: {
        tags: [TAG],
        summary: "Set a batch export's lateness alert",
        params: scopedParams(ProjectParams, ExportParams.shape),
        body: FreshnessAlertBody,
        response: withErrors({ 200: FreshnessAlert }),
      },
      handler: async (request) => {
        const { batch_export_id: id } = request.params;
        const alert = await setFreshnessAlert(deps, request.access.teamIds, id, request.body.late_after_seconds);
        return {
          late_after_seconds: alert?.late_after_seconds ?? null,
          late_since: alert?.late_since?.toISOString() ?? null,
        };
      },
    });
  };
}
