import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/database';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { exportedRows } from './run-model';

const HOUR = { start: '2024-05-01T10:00:00Z', end: '2024-05-01T11:00:00Z' };

describe('events model', () => {
  const db = useTestDatabase();
  let teamId: number;
  let pageview: TestEvent;
  let purchase: TestEvent;
  let signup: TestEvent;

  beforeAll(async () => {
    ({ teamId } = await createTeam(db.pool));
    const other = await createTeam(db.pool, 'Other');
    pageview = makeEvent(teamId, '2024-05-01T10:00:00Z', {
      event: '$pageview',
      // Raw JSON text: 5.0 stays 5.0.
      properties: '{"$browser": "Firefox", "$current_url": "https://example.com/Pricing", "amount": 5.0}',
      person_properties: JSON.stringify({ plan: 'free' }),
    });
    purchase = makeEvent(teamId, '2024-05-01T10:20:00Z', {
      event: 'purchase',
      properties: JSON.stringify({ $browser: 'Chrome', amount: 120.5, nul: 'a\u0000b' }),
      person_properties: JSON.stringify({ plan: 'pro' }),
    });
    signup = makeEvent(teamId, '2024-05-01T10:59:59.999999Z', {
      event: 'signup',
      properties: JSON.stringify({ amount: 'lots' }),
      person_properties: JSON.stringify({}),
    });
    await insertEvents(db.pool, [
      pageview,
      purchase,
      // Ingested twice: exported once, as first inserted.
      { ...purchase, inserted_at: '2024-05-01T10:40:00Z' },
      signup,
      makeEvent(teamId, '2024-05-01T09:59:59.999999Z'),
      makeEvent(teamId, '2024-05-01T11:00:00Z'),
      makeEvent(other.teamId, '2024-05-01T10:30:00Z'),
    ]);
  });

  const uuids = async (options: Parameters<typeof exportedRows>[1], destination = {}) =>
    (await exportedRows(db.pool, options, HOUR, destination)).map((row) => row.uuid);

  it('exports the team events inserted from the start (included) to the end (excluded), each uuid once', async () => {
    const rows = await exportedRows(db.pool, { team_id: teamId }, HOUR);
    expect(rows.map((row) => row.uuid)).toEqual([pageview.uuid, purchase.uuid, signup.uuid]);
    expect(rows[1]!.inserted_at).toBe('2024-05-01T10:20:00+00:00');
  });

  it('keeps only include_events and drops exclude_events', async () => {
    expect(await uuids({ team_id: teamId }, { includeEvents: ['purchase', 'signup'] })).toEqual([
      purchase.uuid,
      signup.uuid,
    ]);
    expect(await uuids({ team_id: teamId }, { excludeEvents: ['purchase'] })).toEqual([pageview.uuid, signup.uuid]);
  });

  it.each([
    ['exact with one value', { key: '$browser', operator: 'exact', value: 'Chrome' }, ['purchase']],
    [
      'exact with a list',
      { key: '$browser', operator: 'exact', value: ['Chrome', 'Firefox'] },
      ['pageview', 'purchase'],
    ],
    ['exact with a number, compared as a number', { key: 'amount', operator: 'exact', value: 5 }, ['pageview']],
    ['exact with a numeric string, compared as text', { key: 'amount', operator: 'exact', value: '5' }, []],
    [
      'is_not, which keeps events without the property',
      { key: '$browser', operator: 'is_not', value: 'Chrome' },
      ['pageview', 'signup'],
    ],
    ['icontains', { key: '$current_url', operator: 'icontains', value: 'pricing' }, ['pageview']],
    ['not_icontains', { key: '$current_url', operator: 'not_icontains', value: 'pricing' }, ['purchase', 'signup']],
    ['regex', { key: '$browser', operator: 'regex', value: '^Ch' }, ['purchase']],
    ['not_regex', { key: '$browser', operator: 'not_regex', value: '^Ch' }, ['pageview', 'signup']],
    ['gt, ignoring values that are not numbers', { key: 'amount', operator: 'gt', value: 10 }, ['purchase']],
    ['lt', { key: 'amount', operator: 'lt', value: '10' }, ['pageview']],
    ['is_set', { key: '$browser', operator: 'is_set' }, ['pageview', 'purchase']],
    ['is_not_set', { key: '$browser', operator: 'is_not_set' }, ['signup']],
    ['a person property', { key: 'plan', operator: 'exact', value: 'pro', type: 'person' }, ['purchase']],
  ])('filters on %s', async (_name, filter, expected) => {
    const events = { pageview, purchase, signup } as Record<string, TestEvent>;
    expect(await uuids({ team_id: teamId, filters: [filter] })).toEqual(expected.map((name) => events[name]!.uuid));
  });

  it('combines filters with AND and treats filter values as data, never as SQL', async () => {
    const filters = [
      { key: '$browser', operator: 'is_set' },
      { key: "amount' OR 1=1 --", operator: 'exact', value: "x' OR '1'='1" },
    ];
    expect(await uuids({ team_id: teamId, filters })).toEqual([]);
    const count = await db.pool.query('SELECT count(*)::int AS n FROM events');
    expect(count.rows[0].n).toBe(7);
  });
});
