import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/ports';
import { checkFreshnessAlerts } from '../../src/notifications/freshness-watch';
import type { NotificationPayload } from '../../src/notifications/events';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../src/notifications/signature';
import { startApiTest, type ApiTest } from '../api/helpers';
import { eventually } from '../helpers/backfills';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver';

/** Deliveries are expected within this of what caused them. */
const WITHIN_MS = 20_000;

describe('webhook notifications', () => {
  let api: ApiTest;
  let receiver: WebhookReceiver;
  let base: string;

  beforeAll(async () => {
    api = await startApiTest({
      worker: true,
      env: { AUTO_PAUSE_AFTER_FAILED_RUNS: '2', NOTIFICATION_RETRY_INITIAL_SECONDS: '1' },
    });
    receiver = await startWebhookReceiver();
    base = `/api/projects/${api.teamId}`;
  });

  afterAll(async () => {
    await receiver?.close();
    await api?.stop();
  });

  /** Creates a webhook to the receiver for `events`; returns its id and secret. */
  async function subscribe(events: string[]): Promise<{ id: string; secret: string }> {
    const response = await api.call('POST', `${base}/webhooks`, { body: { url: receiver.url, events } });
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  /**
   * The bodies the receiver accepted for `event`, signed with `secret`: a webhook's own deliveries (several webhooks
   * of the project may want the same event), and a wrong signature counts as nothing received.
   */
  function received(event: string, secret: string): NotificationPayload[] {
    return receiver.requests
      .filter((request) => request.status === 200 && signedWith(request, secret))
      .map((request) => JSON.parse(request.body) as NotificationPayload)
      .filter((body) => body.event === event);
  }

  it('creates, lists and deletes webhooks; the secret is shown once', async () => {
    const created = await subscribe(['run.failed']);
    expect(created.secret).toMatch(/^whsec_/);

    const list = await api.call('GET', `${base}/webhooks`);
    expect(list.body.results).toContainEqual(expect.objectContaining({ id: created.id, url: receiver.url }));
    expect(list.text).not.toContain(created.secret);

    const badEvent = await api.call('POST', `${base}/webhooks`, { body: { url: receiver.url, events: ['nope'] } });
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.attr).toBe('events.0');
    const badUrl = await api.call('POST', `${base}/webhooks`, { body: { url: 'ftp://x', events: ['run.failed'] } });
    expect(badUrl).toMatchObject({ status: 400, body: { attr: 'url' } });

    expect((await api.call('DELETE', `${base}/webhooks/${created.id}`)).status).toBe(204);
    expect((await api.call('GET', `${base}/webhooks`)).body.results).not.toContainEqual(
      expect.objectContaining({ id: created.id }),
    );
  });

  it('refuses a webhook on a link-local address (cloud metadata), naming the url field', async () => {
    const response = await api.call('POST', `${base}/webhooks`, {
      body: { url: 'http://169.254.169.254/latest', events: ['run.failed'] },
    });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ attr: 'url', code: 'url_not_allowed' });
    expect(response.body.detail).toContain('link-local');
  });

  it('notifies, signed, a run that failed for good and the export pausing itself', async () => {
    const { secret } = await subscribe(['run.failed', 'batch_export.paused']);
    // Nothing listens there: every attempt is refused.
    const destination = await api.s3Destination({ endpoint_url: `http://127.0.0.1:${await freePort()}` });
    const batchExport = await api.createExport({ name: 'doomed', destination });
    const ends = ['2024-10-01T11:00:00Z', '2024-10-01T12:00:00Z'];
    for (const end of ends) {
      const input = intervalInput(batchExport.id, api.teamId, end, { maximumAttempts: 1 });
      const { run } = await runInterval(api.stack, 's3-export', input);
      expect(run.status).toMatch(/^Failed/);
    }

    await eventually(
      async () => received('batch_export.paused', secret).length + received('run.failed', secret).length,
      (count) => count >= 3,
      WITHIN_MS,
    );
    const failures = received('run.failed', secret).filter((body) => body.batch_export?.id === batchExport.id);
    expect(failures.map((body) => body.interval?.end).sort()).toEqual(ends.map((end) => new Date(end).toISOString()));
    expect(failures[0]).toMatchObject({
      team_id: api.teamId,
      batch_export: { id: batchExport.id, name: 'doomed', destination_type: 'S3', model: 'events' },
      error: expect.stringContaining('ECONNREFUSED'),
      links: { batch_export: `${base}/batch_exports/${batchExport.id}` },
      text: expect.stringContaining('Batch export "doomed" (run.failed)'),
    });
    const paused = received('batch_export.paused', secret);
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ batch_export: { id: batchExport.id } });
  });

  it('keeps delivering to a receiver that answers 500 three times, and lists the delivery', async () => {
    const { id, secret } = await subscribe(['backfill.completed']);
    receiver.failNext(3);

    const queued = await api.call('POST', `${base}/webhooks/${id}/test`);
    expect(queued.status).toBe(202);

    const deliveries = await eventually(
      () => api.call('GET', `${base}/webhooks/${id}/deliveries`),
      (response) => response.body.results[0]?.status === 'delivered',
      WITHIN_MS,
    );
    expect(deliveries.body.results[0]).toMatchObject({
      id: queued.body.id,
      event: 'test',
      attempts: 4,
      last_response_code: 200,
      last_error: null,
    });
    const attempts = receiver.requests.filter((request) => JSON.parse(request.body).id === queued.body.event_id);
    expect(attempts.map((request) => request.status)).toEqual([500, 500, 500, 200]);
    expect(signedWith(attempts[3]!, secret)).toBe(true);
  });

  it('notifies a completed backfill, with its range and link', async () => {
    const { secret } = await subscribe(['backfill.completed', 'backfill.failed']);
    const batchExport = await api.createExport({ name: 'history', paused: true });
    const created = await api.call('POST', `${base}/batch_exports/${batchExport.id}/backfills`, {
      body: { start_at: '2024-09-01T10:00:00Z', end_at: '2024-09-01T12:00:00Z' },
    });
    expect(created.status, created.text).toBe(201);

    const [completed] = await eventually(
      async () =>
        received('backfill.completed', secret).filter((body) => body.backfill_id === created.body.backfill_id),
      (bodies) => bodies.length > 0,
      WITHIN_MS * 3,
    );
    expect(completed).toMatchObject({
      batch_export: { id: batchExport.id, name: 'history' },
      interval: { start: '2024-09-01T10:00:00.000Z', end: '2024-09-01T12:00:00.000Z' },
      error: null,
      links: { backfill: `${base}/batch_exports/${batchExport.id}/backfills/${created.body.backfill_id}` },
    });
    expect(received('backfill.failed', secret)).toEqual([]);
  });

  it('notifies a late export once, and once again when it recovers', async () => {
    const { secret } = await subscribe(['batch_export.late', 'batch_export.recovered']);
    const batchExport = await api.createExport({ name: 'slow', paused: true });
    const latest = DateTime.utc().startOf('hour');
    const earlier = latest.minus({ hours: 1 });
    const { run } = await runInterval(
      api.stack,
      's3-export',
      intervalInput(batchExport.id, api.teamId, earlier.toISO()!),
    );
    expect(run.status).toBe('Completed');
    // Behind by more than this after the earlier hour alone, within it once the latest hour is exported too.
    const threshold = Math.round(DateTime.utc().diff(latest).as('seconds')) + 600;
    const alert = await api.call('PUT', `${base}/batch_exports/${batchExport.id}/freshness_alert`, {
      body: { late_after_seconds: threshold },
    });
    expect(alert).toMatchObject({ status: 200, body: { late_after_seconds: threshold, late_since: null } });
    const deps = {
      pool: api.stack.db.pool,
      temporal: api.stack.temporal,
      taskQueue: api.stack.config.temporal.taskQueue,
      publicUrl: null,
      retry: { initialIntervalSeconds: 1, maximumAttempts: 3 },
    };
    const ofThisExport = (event: string) =>
      received(event, secret).filter((body) => body.batch_export?.id === batchExport.id);

    await checkFreshnessAlerts(deps);
    await checkFreshnessAlerts(deps);
    await eventually(
      async () => ofThisExport('batch_export.late').length,
      (count) => count > 0,
      WITHIN_MS,
    );

    await runInterval(api.stack, 's3-export', intervalInput(batchExport.id, api.teamId, latest.toISO()!));
    await checkFreshnessAlerts(deps);
    await checkFreshnessAlerts(deps);
    await eventually(
      async () => ofThisExport('batch_export.recovered').length,
      (count) => count > 0,
      WITHIN_MS,
    );

    expect(ofThisExport('batch_export.late')).toHaveLength(1);
    expect(ofThisExport('batch_export.recovered')).toHaveLength(1);
    expect(ofThisExport('batch_export.late')[0]!.text).toContain(`over its threshold of ${threshold} s`);
  });
});

function signedWith(request: ReceivedRequest, secret: string): boolean {
  return verifySignature(
    secret,
    { signature: String(request.headers[SIGNATURE_HEADER]), timestamp: String(request.headers[TIMESTAMP_HEADER]) },
    request.body,
  );
}
