import { beforeAll, describe, expect, it } from 'vitest';
import { getDestinationConfigWithSecrets } from '../../src/db/batch-exports';
import { describeSchedule, expectScheduleToMatch, useApiTest } from './helpers';

describe('batch exports API: create, list, retrieve, update, delete', () => {
  const api = useApiTest();
  let base: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  const create = (body: Record<string, unknown> = {}) => api.createExport(body);

  it('creates an export with its schedule and returns it without its secrets', async () => {
    const destination = await api.s3Destination({ prefix: 'events/{year}', compression: 'gzip' });
    const response = await api.call('POST', base, {
      body: { name: 'daily events', destination, interval: 'day', timezone: 'Europe/Berlin', offset_hour: 3 },
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      team_id: api.teamId,
      name: 'daily events',
      model: 'events',
      interval: 'day',
      timezone: 'Europe/Berlin',
      offset_hour: 3,
      paused: false,
      latest_runs: [],
      destination: { type: 'S3', config: { bucket_name: destination.config.bucket_name, prefix: 'events/{year}' } },
    });
    expect(response.body.destination.config).not.toHaveProperty('aws_secret_access_key');
    expect(response.body.destination.config).not.toHaveProperty('aws_access_key_id');
    expect(response.text).not.toContain('testing-secret');

    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.spec.timezone).toBe('Europe/Berlin');
    expect(schedule.spec.calendars?.[0]?.hour).toEqual([{ start: 3, end: 3, step: 1 }]);
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'batch-export' });
  });

  it('stores the secrets encrypted, not in the plain config', async () => {
    const created = await create();
    const { rows } = await api.stack.db.pool.query(
      `SELECT d.config, d.encrypted_secrets FROM batch_exports be
       JOIN batch_export_destinations d ON d.id = be.destination_id WHERE be.id = $1`,
      [created.id],
    );
    expect(rows[0].config).not.toHaveProperty('aws_secret_access_key');
    expect(rows[0].encrypted_secrets).not.toContain('testing-secret');
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config.aws_secret_access_key).toBe('testing-secret');
  });

  it('lists exports with limit/offset pagination and next/previous links', async () => {
    const { rows } = await api.stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports WHERE NOT deleted');
    for (let i = rows[0].n; i < 3; i++) await create({ name: `export ${i}` });
    const total = (await api.call('GET', base)).body.count;

    const first = await api.call('GET', `${base}?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(total);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toContain('offset=2');

    const next = new URL(first.body.next);
    const second = await api.call('GET', `${next.pathname}${next.search}`);
    expect(second.body.results.map((e: { id: string }) => e.id)).not.toContain(first.body.results[0].id);
    expect(second.body.previous).not.toBeNull();
  });

  it('retrieves an export under its project and under its organization', async () => {
    const created = await create();
    const byProject = await api.call('GET', `${base}/${created.id}`);
    const byOrganization = await api.call(
      'GET',
      `/api/organizations/${api.organizationId}/batch_exports/${created.id}/`,
    );
    expect(byProject.status).toBe(200);
    expect(byOrganization.status).toBe(200);
    expect(byOrganization.body).toEqual(byProject.body);
  });

  it('creates under an organization in its only project', async () => {
    const response = await api.call('POST', `/api/organizations/${api.organizationId}/batch_exports`, {
      body: { name: 'org export', destination: await api.s3Destination() },
    });
    expect(response.status).toBe(201);
    expect(response.body.team_id).toBe(api.teamId);
  });

  it('PATCH changes the named fields, keeps the stored secrets and updates the schedule', async () => {
    const created = await create({ interval: 'hour' });
    const response = await api.call('PATCH', `${base}/${created.id}`, {
      body: {
        name: 'renamed',
        interval: 'every 15 minutes',
        destination: { config: { prefix: 'new-prefix' } },
      },
    });

    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ name: 'renamed', interval: 'every 15 minutes' });
    expect(response.body.destination.config).toMatchObject({
      prefix: 'new-prefix',
      bucket_name: created.destination.config.bucket_name,
    });
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config).toMatchObject({ aws_access_key_id: 'testing', aws_secret_access_key: 'testing-secret' });
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.spec.intervals?.[0]?.every).toBe(15 * 60_000);
  });

  it('PATCH replaces secrets that are sent, and never returns them', async () => {
    const created = await create();
    const response = await api.call('PATCH', `${base}/${created.id}`, {
      body: { destination: { config: { aws_access_key_id: 'new-key-id', aws_secret_access_key: 'new-secret-value' } } },
    });
    expect(response.status).toBe(200);
    expect(response.text).not.toContain('new-secret-value');
    expect(response.text).not.toContain('new-key-id');
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config.aws_secret_access_key).toBe('new-secret-value');
  });

  it('PATCH does not remove the S3 keys (null) when the worker lends no credentials of its own', async () => {
    const created = await create();
    const response = await api.call('PATCH', `${base}/${created.id}`, {
      body: { destination: { config: { aws_access_key_id: null, aws_secret_access_key: null } } },
    });
    expect(response.status, response.text).toBe(400);
    expect(response.body.attr).toBe('destination.config.aws_access_key_id');
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config.aws_access_key_id).toBe('testing');
  });

  it('PUT replaces the export: left-out fields take their defaults, secrets are kept', async () => {
    const created = await create({ interval: 'day', offset_hour: 5, timezone: 'Asia/Tokyo' });
    const bucket = created.destination.config.bucket_name;
    const response = await api.call('PUT', `${base}/${created.id}`, {
      body: {
        name: 'replaced',
        destination: { type: 'S3', config: { bucket_name: bucket, endpoint_url: api.stack.s3Endpoint } },
      },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ name: 'replaced', interval: 'hour', timezone: 'UTC', offset_hour: null });
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config.aws_secret_access_key).toBe('testing-secret');
    const schedule = await expectScheduleToMatch(api, response.body);
    expect(schedule.spec.calendars ?? []).toEqual([]);
  });

  it('accepts a retrieved export sent back whole with PUT (read-only fields are ignored)', async () => {
    const created = await create();
    const retrieved = (await api.call('GET', `${base}/${created.id}`)).body;
    const response = await api.call('PUT', `${base}/${created.id}`, { body: { ...retrieved, name: 'round trip' } });
    expect(response.status, response.text).toBe(200);
    expect(response.body.name).toBe('round trip');
    expect(response.body.destination).toEqual(created.destination);
  });

  it('deletes an export: 204, then 404, its schedule gone and its row kept as deleted', async () => {
    const created = await create();
    const response = await api.call('DELETE', `${base}/${created.id}`);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await api.call('GET', `${base}/${created.id}`)).status).toBe(404);
    expect((await api.call('DELETE', `${base}/${created.id}`)).status).toBe(404);
    await expect(describeSchedule(api, created.id)).rejects.toThrow(/not found/i);
    const { rows } = await api.stack.db.pool.query('SELECT deleted FROM batch_exports WHERE id = $1', [created.id]);
    expect(rows[0].deleted).toBe(true);
    const list = await api.call('GET', base);
    expect(list.body.results.map((e: { id: string }) => e.id)).not.toContain(created.id);
  });

  it('answers 404 for an id that does not exist or is not a UUID', async () => {
    const missing = await api.call('GET', `${base}/00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ type: 'invalid_request', code: 'not_found', detail: 'Not found.', attr: null });
    expect((await api.call('GET', `${base}/not-a-uuid`)).status).toBe(404);
    expect((await api.call('PATCH', `${base}/00000000-0000-4000-8000-000000000000`, { body: {} })).status).toBe(404);
  });

  it('serves every export route under the organization too', async () => {
    const created = await create();
    const org = `/api/organizations/${api.organizationId}/batch_exports/${created.id}`;
    expect((await api.call('PATCH', org, { body: { name: 'via org' } })).body.name).toBe('via org');
    expect(
      (await api.call('PUT', org, { body: { name: 'put via org', destination: created.destination } })).status,
    ).toBe(200);
    expect((await api.call('POST', `${org}/pause`)).body.paused).toBe(true);
    const unpaused = await api.call('POST', `${org}/unpause`);
    expect(unpaused.body.paused, unpaused.text).toBe(false);
    expect((await api.call('GET', `${org}/runs`)).body).toEqual({ next: null, previous: null, results: [] });
    expect((await api.call('GET', `${org}/logs`)).body).toEqual({ results: [] });
    expect((await api.call('POST', `${org}/run_test_step`, { body: { step: 0 } })).body.result.status).toBe('Passed');
    expect((await api.call('DELETE', org)).status).toBe(204);
    expect((await api.call('GET', org)).status).toBe(404);
  });
});
