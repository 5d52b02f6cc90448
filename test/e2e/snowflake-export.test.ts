import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { insertAttempts, QUICK_RETRIES } from '../helpers/postgres-exports';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import {
  createSnowflakeExport,
  SNOWFLAKE_DATABASE as DATABASE,
  SNOWFLAKE_SCHEMA as SCHEMA,
  useFakesnow,
} from '../helpers/snowflake-exports';
import {
  insertDistinctIds,
  insertPersons,
  insertSessions,
  makePerson,
  mapping,
  sessionSeenTwice,
} from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

describe('batch-export to Snowflake (fakesnow server)', () => {
  const stack = useTestStack();
  const server = useFakesnow();
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
  });

  const read = (sql: string) => server.query(DATABASE, SCHEMA, sql);

  it('creates the table and merges the events of the interval once, also when the interval runs again', async () => {
    const special = makeEvent(teamId, '2024-05-01T10:59:59.999999Z', {
      event: 'signed up ✓',
      properties: JSON.stringify({ $ip: '203.0.113.7', nested: { tab: 'a\tb\nc\\d', list: [1, 2] } }),
      distinct_id: 'user-🦔\ttab\nline\\',
    });
    const first = makeEvent(teamId, '2024-05-01T10:00:00Z');
    const outside = makeEvent(teamId, '2024-05-01T11:00:00Z');
    await insertEvents(stack.db.pool, [first, special, outside]);
    const batchExport = await createSnowflakeExport(stack, teamId, server, { config: { table_name: 'events' } });
    const input = intervalInput(batchExport.id, teamId, '2024-05-01T11:00:00Z', QUICK_RETRIES);

    const { run } = await runInterval(stack, 'batch-export', input);

    expect(run).toMatchObject({ status: 'Completed', records_completed: 2, latest_error: null });
    expect(run.receipt).toMatchObject({ sourceRecords: 2, recordsWritten: 2, destinationRecords: 2 });
    const rows = await read(
      `SELECT "uuid", "event", "distinct_id", "team_id", "ip", "timestamp", "properties":nested.list[1] AS second FROM "events" ORDER BY "timestamp"`,
    );
    expect(rows).toEqual([
      expect.objectContaining({ uuid: first.uuid, event: first.event, team_id: teamId }),
      expect.objectContaining({
        uuid: special.uuid,
        event: 'signed up ✓',
        distinct_id: 'user-🦔\ttab\nline\\',
        ip: '203.0.113.7',
        timestamp: '2024-05-01 10:59:59.999999',
        SECOND: '2',
      }),
    ]);

    // The same interval again (a retry of the whole run): the MERGE on uuid adds nothing.
    const again = await runInterval(stack, 'batch-export', input);
    expect(again.run).toMatchObject({ status: 'Completed', records_completed: 2 });
    expect(await read(`SELECT count(*) AS "n", count(DISTINCT "uuid") AS "distinct" FROM "events"`)).toEqual([
      { n: 2, distinct: 2 },
    ]);
  });

  it('merges persons on their key: a newer version replaces the row, an older interval again does not', async () => {
    const person = makePerson(teamId, '2024-05-03T10:10:00Z', { properties: { plan: 'free' } });
    await insertPersons(stack.db.pool, [
      person,
      { ...person, version: 1, properties: { plan: 'pro' }, inserted_at: '2024-05-03T11:20:00Z' },
    ]);
    await insertDistinctIds(stack.db.pool, [mapping(teamId, 'p-1', person.id, '2024-05-03T10:10:00Z')]);
    const batchExport = await createSnowflakeExport(stack, teamId, server, {
      model: 'persons',
      config: { table_name: 'persons' },
    });
    const hour = (end: string) => intervalInput(batchExport.id, teamId, end, QUICK_RETRIES);

    expect((await runInterval(stack, 'batch-export', hour('2024-05-03T11:00:00Z'))).run.status).toBe('Completed');
    expect(
      await read(`SELECT "distinct_id", "person_version", "properties":plan::varchar AS plan FROM "persons"`),
    ).toEqual([{ distinct_id: 'p-1', person_version: 0, PLAN: 'free' }]);
    expect((await runInterval(stack, 'batch-export', hour('2024-05-03T12:00:00Z'))).run.status).toBe('Completed');
    // The first interval again, with version 0: must not overwrite version 1.
    expect((await runInterval(stack, 'batch-export', hour('2024-05-03T11:00:00Z'))).run.status).toBe('Completed');

    expect(
      await read(`SELECT "distinct_id", "person_version", "properties":plan::varchar AS plan FROM "persons"`),
    ).toEqual([{ distinct_id: 'p-1', person_version: 1, PLAN: 'pro' }]);
  });

  it('merges sessions on their key when the end_timestamp is later', async () => {
    const [session, later] = sessionSeenTwice(teamId, '2024-05-05');
    await insertSessions(stack.db.pool, [session, later]);
    const batchExport = await createSnowflakeExport(stack, teamId, server, {
      model: 'sessions',
      config: { table_name: 'sessions' },
    });

    for (const end of ['2024-05-05T11:00:00Z', '2024-05-05T12:00:00Z', '2024-05-05T11:00:00Z']) {
      const { run } = await runInterval(
        stack,
        'batch-export',
        intervalInput(batchExport.id, teamId, end, QUICK_RETRIES),
      );
      expect(run).toMatchObject({ status: 'Completed', records_completed: 1 });
      expect(run.receipt).toMatchObject({ sourceRecords: 1, destinationRecords: 1 });
    }

    expect(await read(`SELECT "session_id", "pageview_count", "end_timestamp" FROM "sessions"`)).toEqual([
      { session_id: session.session_id, pageview_count: 7, end_timestamp: '2024-05-05 11:30:00' },
    ]);
  });

  /** Runs an hour of one event with a config that cannot work; the failed run and the insert's attempts. */
  const runFailing = async (day: string, config: Record<string, unknown>) => {
    await insertEvents(stack.db.pool, [makeEvent(teamId, `${day}T10:00:00Z`)]);
    const batchExport = await createSnowflakeExport(stack, teamId, server, { config });
    const end = `${day}T11:00:00Z`;
    const retries = { initialIntervalSeconds: 1, maximumAttempts: 5 };
    const { run } = await runInterval(stack, 'batch-export', intervalInput(batchExport.id, teamId, end, retries));
    return { run, attempts: await insertAttempts(stack, `${batchExport.id}-${end}`, 'insertIntoDestination') };
  };

  it('fails the run at once, saying what to fix, when the database does not exist', async () => {
    const { run, attempts } = await runFailing('2024-05-04', { database: 'NO_SUCH_DB' });

    expect(run.status).toBe('Failed');
    expect(run.latest_error).toContain('database "NO_SUCH_DB"');
    expect(run.latest_error).toContain('does not exist');
    expect(run.latest_error).not.toContain('a-password');
    // Not retried: one attempt of the retry policy's five.
    expect(attempts).toEqual([1]);
  });

  it('fails the run at once, saying what to fix, when the private key cannot be read with the passphrase', async () => {
    // A bad credential the driver itself rejects (fakesnow accepts any password or JWT, so this is the one here).
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'the-passphrase' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const { run, attempts } = await runFailing('2024-05-06', {
      password: undefined,
      private_key: privateKey,
      private_key_passphrase: 'not-the-passphrase',
    });

    expect(run.status).toBe('Failed');
    expect(run.latest_error).toContain('The private key cannot be read: check private_key');
    expect(run.latest_error).not.toContain('PRIVATE KEY');
    expect(run.latest_error).not.toContain('not-the-passphrase');
    expect(attempts).toEqual([1]);
  });
});
