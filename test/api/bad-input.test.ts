import { beforeAll, describe, expect, it } from 'vitest';
import { useApiTest } from './helpers';

/** Values no field expects: every one must give a 4xx naming the problem, never a 500. */
const ODD_VALUES: unknown[] = [
  null,
  '',
  ' ',
  0,
  -1,
  1.5,
  1e308,
  true,
  [],
  [1, 'two'],
  {},
  { nested: { deeper: [] } },
  'x'.repeat(5000),
  '\u0000',
  '🦔',
  '2024-13-45T99:99:99Z',
  "'; DROP TABLE batch_exports; --",
];

const TOP_LEVEL = [
  'name',
  'model',
  'destination',
  'interval',
  'paused',
  'start_at',
  'end_at',
  'hogql_query',
  'filters',
  'timezone',
  'offset_day',
  'offset_hour',
];
const CONFIG = ['bucket_name', 'region', 'prefix', 'endpoint_url', 'compression', 'file_format', 'max_file_size_mb'];

describe('batch exports API: no odd input gets a 500', () => {
  const api = useApiTest();
  let base: string;
  let destination: { type: 'S3'; config: Record<string, unknown> };
  let existingId: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    destination = await api.s3Destination();
    existingId = (await api.createExport()).id;
  });

  function expectClientAnswer(response: { status: number; body: { detail?: unknown } }, what: string) {
    expect(response.status, what).toBeLessThan(500);
    if (response.status >= 400) expect(typeof response.body?.detail, what).toBe('string');
  }

  it('answers every odd value of every field with a 4xx or a success', async () => {
    for (const field of [...TOP_LEVEL, ...CONFIG.map((name) => `destination.config.${name}`)]) {
      for (const value of ODD_VALUES) {
        const body: Record<string, unknown> = { name: 'odd', destination: structuredClone(destination) };
        const path = field.split('.');
        let target = body as Record<string, unknown>;
        for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
        target[path.at(-1)!] = value;
        const what = `${field} = ${JSON.stringify(value)?.slice(0, 40)}`;
        expectClientAnswer(await api.call('POST', base, { body }), `POST ${what}`);
        const patch = field.startsWith('destination.config.')
          ? { destination: { config: { [path.at(-1)!]: value } } }
          : { [field]: value };
        expectClientAnswer(await api.call('PATCH', `${base}/${existingId}`, { body: patch }), `PATCH ${what}`);
      }
    }
  });

  it('refuses the NUL character, naming the field', async () => {
    const response = await api.call('POST', base, {
      body: { name: 'a\u0000b', destination: { ...destination, config: { ...destination.config, prefix: 'p\u0000' } } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ attr: 'name', detail: 'Text cannot contain the NUL character (\\u0000)' });
  });

  it('refuses JSON nested thousands of levels deep with a 400 naming where, in any field', async () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const config = JSON.stringify(destination.config).slice(0, -1);
    for (const [payload, attr] of [
      [nested(8000), '0.0.0'],
      [`{"name": "deep", "filters": ${nested(8000)}}`, 'filters.0.0'],
      [
        `{"name": "deep", "destination": {"type": "S3", "config": ${config}, "x": ${nested(8000)}}}}`,
        'destination.config.x',
      ],
    ] as const) {
      const response = await api.call('POST', base, { payload, headers: { 'content-type': 'application/json' } });
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({
        code: 'too_deep',
        attr,
        detail: expect.stringContaining('at most 32 levels'),
      });
    }
    const patched = await api.call('PATCH', `${base}/${existingId}`, {
      payload: `{"filters": ${nested(8000)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(patched.status, patched.text).toBe(400);
  });

  it('answers odd query parameters with a 4xx or a success', async () => {
    const queries = [
      'limit',
      'offset',
      'cursor',
      'ordering',
      'status',
      'after',
      'before',
      'level',
      'search',
      'instance_id',
    ];
    for (const url of [base, `${base}/${existingId}/runs`, `${base}/${existingId}/logs`]) {
      for (const name of queries) {
        for (const value of ['', '-1', 'abc', '%00', '\u0000', 'null', '[]', '9'.repeat(40), '🦔']) {
          const response = await api.call('GET', `${url}?${name}=${encodeURIComponent(value)}`);
          expectClientAnswer(response, `${url}?${name}=${value}`);
        }
      }
    }
  });
});
