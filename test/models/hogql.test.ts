import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/database';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { exportedRows } from './run-model';

const HOUR = { start: '2024-05-01T10:00:00Z', end: '2024-05-01T11:00:00Z' };

describe('hogql_query model', () => {
  const db = useTestDatabase();
  let teamId: number;
  let purchase: TestEvent;
  let odd: TestEvent;

  beforeAll(async () => {
    ({ teamId } = await createTeam(db.pool));
    purchase = makeEvent(teamId, '2024-05-01T10:10:00Z', {
      event: 'purchase',
      distinct_id: 'buyer',
      properties: JSON.stringify({ $browser: 'Chrome', amount: '12.5', nested: { plan: 'pro' }, nul: 'x\u0000y' }),
      person_properties: JSON.stringify({ email: 'buyer@example.com' }),
    });
    odd = makeEvent(teamId, '2024-05-01T10:20:00Z', { event: "x'; DROP TABLE events; --", properties: '{}' });
    await insertEvents(db.pool, [
      makeEvent(teamId, '2024-05-01T10:00:00Z', { event: '$pageview' }),
      purchase,
      { ...purchase, inserted_at: '2024-05-01T10:30:00Z' },
      odd,
      makeEvent(teamId, '2024-05-01T11:00:00Z', { event: 'purchase' }),
    ]);
  });

  it('exports the selected expressions under their aliases, for the matching events of the interval', async () => {
    const hogql = `SELECT uuid, upper(event) AS name, properties.$browser AS browser, toFloat(properties.amount) * 2 AS doubled,
        JSONExtractString(properties, 'nested', 'plan') AS plan, person_properties.email AS email,
        coalesce(properties.missing, distinct_id) AS who, timestamp, toDate(timestamp) AS day,
        toStartOfHour(timestamp) AS hour
      FROM events WHERE event = 'purchase' AND toFloat(properties.amount) > 10`;
    const rows = await exportedRows(db.pool, { team_id: teamId, hogql_query: hogql }, HOUR);
    expect(rows).toEqual([
      {
        uuid: purchase.uuid,
        name: 'PURCHASE',
        browser: 'Chrome',
        doubled: 25,
        plan: 'pro',
        email: 'buyer@example.com',
        who: 'buyer',
        timestamp: '2024-05-01T10:10:00+00:00',
        day: '2024-05-01',
        hour: '2024-05-01T10:00:00+00:00',
      },
    ]);
  });

  it('matches a literal full of SQL as plain text and leaves the database alone', async () => {
    const hogql = `SELECT uuid, event FROM events WHERE event = 'x''; DROP TABLE events; --'`;
    const rows = await exportedRows(db.pool, { team_id: teamId, hogql_query: hogql }, HOUR);
    expect(rows).toEqual([{ uuid: odd.uuid, event: "x'; DROP TABLE events; --" }]);
    const count = await db.pool.query('SELECT count(*)::int AS n FROM events');
    expect(count.rows[0].n).toBe(5);
  });

  it('applies the destination event filters as for the events model', async () => {
    const rows = await exportedRows(db.pool, { team_id: teamId, hogql_query: 'SELECT event FROM events' }, HOUR, {
      excludeEvents: ['purchase'],
    });
    expect(rows).toEqual([{ event: '$pageview' }, { event: "x'; DROP TABLE events; --" }]);
  });

  it('gives NULL where one event would fail the arithmetic or a conversion, and exports every event', async () => {
    const hour = { start: '2024-05-02T10:00:00Z', end: '2024-05-02T11:00:00Z' };
    const values = ['1e400', 'abc', '99999999999999999999', '-1e-400', '1e99999', '7'.repeat(5000), '12.5', '0'];
    await insertEvents(
      db.pool,
      values.map((value, index) =>
        makeEvent(teamId, `2024-05-02T10:${String(index).padStart(2, '0')}:00Z`, {
          event: 'odd',
          properties: JSON.stringify({ v: value }),
        }),
      ),
    );
    const hogql = `SELECT properties.v AS v, toInt(properties.v) AS i, toFloat(properties.v) AS f,
        toInt(properties.v) * 1000000000 AS product, 100 / toFloat(properties.v) AS quotient,
        7 % toInt(properties.v) AS remainder, -toInt(properties.v) * 1000000000 * 1000000000 * 100 AS overflow,
        toFloat(properties.v) * 1e300 * 1e300 AS huge, toFloat(properties.v) * 1e-300 * 1e-300 AS tiny
      FROM events WHERE event = 'odd'`;
    const rows = await exportedRows(db.pool, { team_id: teamId, hogql_query: hogql }, hour);
    const nulls = {
      i: null,
      f: null,
      product: null,
      quotient: null,
      remainder: null,
      overflow: null,
      huge: null,
      tiny: null,
    };
    expect(rows).toEqual([
      { v: '1e400', ...nulls },
      { v: 'abc', ...nulls },
      {
        ...nulls,
        v: '99999999999999999999',
        f: 1e20,
        quotient: 1e-18,
        huge: null,
        tiny: null,
      },
      { v: '-1e-400', ...nulls, i: 0, remainder: null, overflow: 0, product: 0 },
      { v: '1e99999', ...nulls },
      { v: '7'.repeat(5000), ...nulls },
      {
        v: '12.5',
        i: 12,
        f: 12.5,
        product: 12000000000,
        quotient: 8,
        remainder: 7,
        overflow: null,
        huge: null,
        tiny: null,
      },
      {
        v: '0',
        i: 0,
        f: 0,
        product: 0,
        quotient: null,
        remainder: null,
        overflow: 0,
        huge: 0,
        tiny: 0,
      },
    ]);
  });
});
