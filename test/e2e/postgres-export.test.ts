import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createPostgresExport, runPostgresInterval } from '../helpers/postgres-exports';
import {
  insertDistinctIds,
  insertPersons,
  insertSessions,
  makePerson,
  sessionSeenTwice,
  mapping,
} from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

describe('postgres-export workflow', () => {
  const stack = useTestStack();
  let destination: DestinationDatabase;
  let teamId: number;

  beforeAll(async () => {
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
  });

  afterAll(async () => {
    await destination?.drop();
  });

  const rowsOf = async (table: string, orderBy: string) =>
    (await destination.pool.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;

  it('creates the events table and loads exactly the events of the interval, once even when exported again', async () => {
    const special = makeEvent(teamId, '2024-05-01T10:59:59.999999Z', {
      event: 'signed up ✓',
      properties: JSON.stringify({
        $ip: '203.0.113.7',
        $current_url: 'https://example.com/signup',
        tab: 'a\tb\nc\\d',
        nul: 'before\u0000after',
        $set: { plan: 'pro' },
        $set_once: { first_seen: '2024-05-01' },
      }),
      distinct_id: 'user-🦔\ttab\nline\\',
      elements_chain: 'button.signup:text="Go"',
    });
    const first = makeEvent(teamId, '2024-05-01T10:00:00Z');
    const outside = [makeEvent(teamId, '2024-05-01T11:00:00Z'), makeEvent(teamId, '2024-05-01T09:59:59.999999Z')];
    await insertEvents(stack.db.pool, [first, { ...first, inserted_at: '2024-05-01T10:30:00Z' }, special, ...outside]);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'events_export' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-01T11:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 2, latest_error: null });
    expect(Number(run.bytes_exported)).toBeGreaterThan(0);
    const columns = await destination.pool.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events_export' ORDER BY ordinal_position`,
    );
    expect(columns.rows.map((column) => `${column.column_name} ${column.data_type}`)).toEqual([
      'uuid uuid',
      'event text',
      'properties jsonb',
      'elements jsonb',
      'set jsonb',
      'set_once jsonb',
      'distinct_id text',
      'team_id bigint',
      'ip text',
      'site_url text',
      'timestamp timestamp with time zone',
    ]);
    const rows = await rowsOf('events_export', 'timestamp');
    expect(rows.map((row) => row.uuid)).toEqual([first.uuid, special.uuid]);
    const { rows: timestamps } = await destination.pool.query(
      `SELECT "timestamp"::text AS ts FROM events_export WHERE uuid = $1`,
      [special.uuid],
    );
    expect(timestamps[0].ts).toBe('2024-05-01 10:59:59.999999+00');
    expect(rows[1]).toEqual({
      uuid: special.uuid,
      event: 'signed up ✓',
      // jsonb cannot hold \u0000: it arrives as U+FFFD.
      properties: { ...JSON.parse(special.properties), nul: 'before\ufffdafter' },
      elements: 'button.signup:text="Go"',
      set: { plan: 'pro' },
      set_once: { first_seen: '2024-05-01' },
      distinct_id: 'user-🦔\ttab\nline\\',
      team_id: teamId,
      ip: '203.0.113.7',
      site_url: 'https://example.com/signup',
      timestamp: expect.any(Date),
    });

    const again = await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-01T11:00:00Z');
    expect(again.run.status).toBe('Completed');
    expect((await rowsOf('events_export', 'timestamp')).map((row) => row.uuid)).toEqual([first.uuid, special.uuid]);
  });

  it('completes an empty interval with zero records, leaving an empty table', async () => {
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'empty_hour' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2020-01-01T01:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 0, bytes_exported: 0 });
    expect(await rowsOf('empty_hour', 'uuid')).toEqual([]);
  });

  it("writes only the columns the user's table has, once", async () => {
    await destination.pool.query(
      `CREATE TABLE narrow (uuid uuid, event text, person_id uuid, note text DEFAULT 'mine', inserted_at timestamptz)`,
    );
    const event = makeEvent(teamId, '2024-05-02T10:15:00Z');
    await insertEvents(stack.db.pool, [event]);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'narrow' });

    // Twice: a table without a unique index must not get the event twice either.
    await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-02T11:00:00Z');
    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-02T11:00:00Z');

    expect(run.status).toBe('Completed');
    const { rows: warnings } = await stack.db.pool.query(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'WARNING'`,
      [run.id],
    );
    expect(warnings.map((row) => row.message)).toEqual([
      'Table "public"."narrow" has no unique index on uuid: every batch searches the whole table to skip rows already exported. Add one to make exports faster',
    ]);
    expect(await rowsOf('narrow', 'uuid')).toEqual([
      {
        uuid: event.uuid,
        event: event.event,
        person_id: event.person_id,
        note: 'mine',
        inserted_at: new Date('2024-05-02T10:15:00Z'),
      },
    ]);
  });

  it('merges persons by version: newer versions replace a row, an older interval exported again does not', async () => {
    const person = makePerson(teamId, '2024-05-03T10:10:00Z', { properties: { plan: 'free' } });
    await insertPersons(stack.db.pool, [
      person,
      { ...person, version: 1, properties: { plan: 'pro' }, inserted_at: '2024-05-03T11:20:00Z' },
    ]);
    await insertDistinctIds(stack.db.pool, [
      mapping(teamId, 'p-1', person.id, '2024-05-03T10:10:00Z'),
      mapping(teamId, 'p-2', person.id, '2024-05-03T10:20:00Z'),
    ]);
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      model: 'persons',
      table_name: 'persons_export',
    });

    expect((await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-03T11:00:00Z')).run).toMatchObject({
      status: 'Completed',
      records_completed: 2,
    });
    expect((await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-03T12:00:00Z')).run.status).toBe(
      'Completed',
    );
    // The first interval again, with version 0: must not overwrite version 1.
    expect((await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-03T11:00:00Z')).run.status).toBe(
      'Completed',
    );

    const rows = await rowsOf('persons_export', 'distinct_id');
    expect(rows).toEqual(
      ['p-1', 'p-2'].map((distinctId) => ({
        team_id: teamId,
        distinct_id: distinctId,
        person_id: person.id,
        properties: { plan: 'pro' },
        person_version: 1,
        person_distinct_id_version: 0,
        created_at: new Date('2024-01-01T00:00:00Z'),
        is_deleted: false,
        inserted_at: new Date('2024-05-03T11:20:00Z'),
      })),
    );
    const key = await destination.pool.query(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'persons_export'::regclass AND contype = 'p'`,
    );
    expect(key.rows[0].definition).toBe('PRIMARY KEY (team_id, distinct_id)');
  });

  it('merges sessions by end_timestamp', async () => {
    const [session, later] = sessionSeenTwice(teamId, '2024-05-04');
    await insertSessions(stack.db.pool, [session, later]);
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      model: 'sessions',
      table_name: 'sessions_export',
    });

    for (const end of ['2024-05-04T11:00:00Z', '2024-05-04T12:00:00Z', '2024-05-04T11:00:00Z']) {
      expect((await runPostgresInterval(stack, teamId, batchExport.id, end)).run).toMatchObject({
        status: 'Completed',
        records_completed: 1,
      });
    }

    const rows = await rowsOf('sessions_export', 'session_id');
    expect(rows).toEqual([
      {
        ...later,
        team_id: teamId,
        start_timestamp: new Date(later.start_timestamp),
        end_timestamp: new Date(later.end_timestamp),
        inserted_at: new Date(later.inserted_at),
      },
    ]);
  });

  it("exports a hogql_query's aliases as the columns of the table it creates, with the export's filters", async () => {
    const chrome = makeEvent(teamId, '2024-05-05T10:10:00Z', {
      event: 'purchase',
      properties: JSON.stringify({ $browser: 'Chrome', price: '19.90' }),
    });
    await insertEvents(stack.db.pool, [
      chrome,
      makeEvent(teamId, '2024-05-05T10:20:00Z', {
        event: 'purchase',
        properties: JSON.stringify({ $browser: 'Safari' }),
      }),
      makeEvent(teamId, '2024-05-05T10:30:00Z', {
        event: '$pageview',
        properties: JSON.stringify({ $browser: 'Chrome' }),
      }),
    ]);
    const batchExport = await createPostgresExport(stack, teamId, destination, {
      table_name: 'purchases',
      hogql_query:
        "SELECT uuid, upper(event) AS name, toFloat(properties.price) AS price FROM events WHERE event = 'purchase'",
      filters: [{ key: '$browser', operator: 'exact', value: 'Chrome' }],
    });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-05T11:00:00Z');
    await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-05T11:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
    expect(await rowsOf('purchases', 'uuid')).toEqual([{ uuid: chrome.uuid, name: 'PURCHASE', price: 19.9 }]);
  });
});
