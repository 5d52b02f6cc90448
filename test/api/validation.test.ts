import { beforeAll, describe, expect, it } from 'vitest';
import { useApiTest } from './helpers';

describe('batch exports API: bad input is a 400 naming the field, never a 500', () => {
  const api = useApiTest();
  let base: string;
  let validBody: () => Promise<Record<string, unknown>>;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    const destination = await api.s3Destination();
    validBody = async () => ({ name: 'valid', destination: structuredClone(destination) });
  });

  async function expectCreateRejected(
    change: (body: Record<string, unknown>) => void,
    expected: { attr: string | null; code?: string; detail?: RegExp },
  ) {
    const body = await validBody();
    change(body);
    const response = await api.call('POST', base, { body });
    expect(response.status, response.text).toBe(400);
    expect(response.body.type).toBe('validation_error');
    expect(response.body.attr).toBe(expected.attr);
    if (expected.code) expect(response.body.code).toBe(expected.code);
    if (expected.detail) expect(response.body.detail).toMatch(expected.detail);
  }
  const config = (body: Record<string, unknown>) => (body.destination as { config: Record<string, unknown> }).config;

  it('rejects an unknown field in the destination config', async () => {
    await expectCreateRejected((body) => (config(body).bucket = 'typo'), {
      attr: 'destination.config.bucket',
      code: 'unknown_field',
      detail: /Unknown field: bucket/,
    });
  });

  it('rejects an unknown top-level field', async () => {
    await expectCreateRejected((body) => (body.schedule = 'hourly'), { attr: 'schedule', code: 'unknown_field' });
  });

  it('rejects a config without a required field', async () => {
    await expectCreateRejected((body) => delete config(body).bucket_name, {
      attr: 'destination.config.bucket_name',
      code: 'required',
    });
  });

  it('rejects an export without a name', async () => {
    await expectCreateRejected((body) => delete body.name, { attr: 'name', code: 'required' });
  });

  it('rejects wrong types', async () => {
    await expectCreateRejected((body) => (body.paused = 'yes'), { attr: 'paused', detail: /boolean/ });
    await expectCreateRejected((body) => (body.name = 42), { attr: 'name', detail: /string/ });
    await expectCreateRejected((body) => (config(body).max_file_size_mb = 'big'), {
      attr: 'destination.config.max_file_size_mb',
    });
  });

  it('rejects an unsupported interval, model or file format', async () => {
    await expectCreateRejected((body) => (body.interval = 'every 7 minutes'), { attr: 'interval', detail: /interval/ });
    await expectCreateRejected((body) => (body.model = 'groups'), { attr: 'model' });
    await expectCreateRejected((body) => (config(body).file_format = 'CSV'), {
      attr: 'destination.config.file_format',
    });
  });

  it('rejects a compression the file format does not support', async () => {
    await expectCreateRejected(
      (body) => Object.assign(config(body), { file_format: 'JSONLines', compression: 'snappy' }),
      { attr: 'destination.config.compression', detail: /not supported for JSONLines/ },
    );
  });

  it('rejects offsets that do not apply to the interval', async () => {
    await expectCreateRejected((body) => Object.assign(body, { interval: 'hour', offset_hour: 2 }), {
      attr: 'offset_hour',
    });
    await expectCreateRejected((body) => Object.assign(body, { interval: 'day', offset_day: 1 }), {
      attr: 'offset_day',
    });
    await expectCreateRejected((body) => Object.assign(body, { interval: 'day', offset_hour: 24 }), {
      attr: 'offset_hour',
    });
  });

  it('rejects an unknown timezone', async () => {
    await expectCreateRejected((body) => (body.timezone = 'Mars/Olympus'), {
      attr: 'timezone',
      detail: /Unknown timezone "Mars\/Olympus"/,
    });
  });

  it('rejects timezones Temporal refuses (offsets, other spellings) with a 400 on create and update', async () => {
    const created = await api.call('POST', base, { body: { ...(await validBody()), interval: 'day' } });
    for (const timezone of ['UTC+25', 'UTC+2', 'utc', 'europe/berlin', 'Europe/berlin', '+02:00', 'Local']) {
      await expectCreateRejected((body) => Object.assign(body, { interval: 'day', timezone }), {
        attr: 'timezone',
        detail: /Unknown timezone .*use an IANA name, spelled exactly/,
      });
      const patched = await api.call('PATCH', `${base}/${created.body.id}`, { body: { timezone } });
      expect(patched.status, `${timezone}: ${patched.text}`).toBe(400);
      expect(patched.body.attr).toBe('timezone');
    }
  });

  it('checks regex filters with Postgres itself, on create and update', async () => {
    const filters = [
      { key: 'name', operator: 'regex', value: '(?<n>a)' },
      { key: '$browser', operator: 'not_regex', value: '\\p{L}' },
      { key: 'x', operator: 'regex', value: '[[:alpha:]]+' },
    ];
    const response = await api.call('POST', base, { body: { ...(await validBody()), filters } });
    expect(response.status, response.text).toBe(400);
    expect(response.body).toMatchObject({
      attr: 'filters.0.value',
      detail: /not a regular expression Postgres accepts/,
    });
    expect(response.body.errors.map((problem: { attr: string }) => problem.attr)).toEqual([
      'filters.0.value',
      'filters.1.value',
    ]);
    // Valid for Postgres though not for JavaScript: an embedded option.
    const postgresOnly = [{ key: 'name', operator: 'regex', value: '(?i)^chrome' }];
    const created = await api.call('POST', base, { body: { ...(await validBody()), filters: postgresOnly } });
    expect(created.status, created.text).toBe(201);
    const patched = await api.call('PATCH', `${base}/${created.body.id}`, { body: { filters: filters.slice(1) } });
    expect(patched.status).toBe(400);
    expect(patched.body.attr).toBe('filters.0.value');
  });

  it('lists every problem, unknown fields always among them, the first one also as detail/attr', async () => {
    const body = await validBody();
    config(body).bucket_name = 'b';
    config(body).bogus = 1;
    const response = await api.call('POST', base, { body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ attr: 'destination.config.bucket_name', code: 'invalid_input' });
    expect(response.body.errors).toEqual([
      { attr: 'destination.config.bucket_name', code: 'invalid_input', detail: response.body.detail },
      { attr: 'destination.config.bogus', code: 'unknown_field', detail: 'Unknown field: bogus' },
    ]);

    // Other fields wrong too: the destination's problems are still listed.
    const everything = await api.call('POST', base, { body: { ...body, name: 42, schedule: 'hourly' } });
    expect(everything.status).toBe(400);
    expect(everything.body.errors.map((problem: { attr: string }) => problem.attr).sort()).toEqual([
      'destination.config.bogus',
      'destination.config.bucket_name',
      'name',
      'schedule',
    ]);
  });

  it('rejects a destination type without a workflow', async () => {
    await expectCreateRejected((body) => ((body.destination as { type: string }).type = 'BigQuery'), {
      attr: 'destination.type',
      detail: /BigQuery.*not supported/,
    });
  });

  it('rejects start_at at or after end_at', async () => {
    await expectCreateRejected(
      (body) => Object.assign(body, { start_at: '2024-02-01T00:00:00Z', end_at: '2024-01-01T00:00:00Z' }),
      { attr: 'end_at', detail: /after start_at/ },
    );
    await expectCreateRejected((body) => (body.start_at = 'yesterday'), { attr: 'start_at' });
  });

  it('rejects a hogql_query that is not a restricted SELECT', async () => {
    await expectCreateRejected((body) => (body.hogql_query = 'SELECT event FROM events; DROP TABLE events'), {
      attr: 'hogql_query',
    });
  });

  it('refuses to change the destination type on update', async () => {
    const created = await api.call('POST', base, { body: await validBody() });
    for (const method of ['PATCH', 'PUT'] as const) {
      const response = await api.call(method, `${base}/${created.body.id}`, {
        body: { name: 'x', destination: { type: 'Postgres', config: { host: 'localhost' } } },
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ attr: 'destination.type', code: 'destination_type_change' });
    }
    const patched = await api.call('PATCH', `${base}/${created.body.id}`, { body: { interval: 'fortnight' } });
    expect(patched.status).toBe(400);
    expect(patched.body.attr).toBe('interval');
    const after = await api.call('GET', `${base}/${created.body.id}`);
    expect(after.body).toMatchObject({ name: 'valid', interval: 'hour', destination: { type: 'S3' } });
  });

  it('answers 400 to malformed JSON', async () => {
    const response = await api.call('POST', base, {
      payload: '{"name": "broken",',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: 'invalid_request', code: 'parse_error' });
    const poisoned = await api.call('POST', base, {
      payload: '{"name": "x", "__proto__": {"admin": true}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(poisoned.status).toBe(400);
  });

  it('answers 400 to a body that is not an object', async () => {
    const response = await api.call('PATCH', `${base}/00000000-0000-4000-8000-000000000000`, { body: [1, 2] });
    expect([400, 404]).toContain(response.status);
    const created = await api.call('POST', base, { body: await validBody() });
    const patched = await api.call('PATCH', `${base}/${created.body.id}`, { body: [1, 2] });
    expect(patched.status).toBe(400);
    expect(patched.body.type).toBe('validation_error');
  });

  it('answers 400 to a create without a body', async () => {
    const response = await api.call('POST', base);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: 'validation_error', attr: null, detail: 'A JSON object is required' });
  });

  it('takes an empty JSON body as no body', async () => {
    const created = await api.call('POST', base, { body: await validBody() });
    const headers = { 'content-type': 'application/json' };
    const paused = await api.call('POST', `${base}/${created.body.id}/pause`, { payload: '', headers });
    expect(paused.status).toBe(200);
    const unpaused = await api.call('POST', `${base}/${created.body.id}/unpause`, { payload: '', headers });
    expect(unpaused.body.paused).toBe(false);
    const create = await api.call('POST', base, { payload: '', headers });
    expect(create.status).toBe(400);
    expect(create.body.detail).toBe('A JSON object is required');
  });

  it('answers 415 to a body that is not JSON', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await api.call('POST', base, {
        payload: 'name=form',
        headers: { 'content-type': contentType },
      });
      expect(response.status, contentType).toBe(415);
      expect(response.body.code).toBe('unsupported_media_type');
    }
  });

  it('answers 413 to a huge body', async () => {
    const body = await validBody();
    config(body).include_events = Array.from({ length: 200_000 }, (_, i) => `event-${i}`);
    const response = await api.call('POST', base, { body });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('request_too_large');
  });

  it('validates query parameters', async () => {
    for (const query of ['limit=0', 'limit=abc', 'limit=100000', 'offset=-1']) {
      const response = await api.call('GET', `${base}?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.attr).toBe(query.split('=')[0]);
    }
  });

  it('keeps nothing of a rejected request', async () => {
    const before = await api.stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports');
    await api.call('POST', base, { body: { ...(await validBody()), timezone: 'Nowhere/Never' } });
    const after = await api.stack.db.pool.query('SELECT count(*)::int AS n FROM batch_exports');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});
