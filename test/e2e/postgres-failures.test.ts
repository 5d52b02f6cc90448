import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { freePort } from '../../src/dev/ports';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import {
  createDestinationDatabase,
  createUnprivilegedRole,
  type DestinationDatabase,
} from '../helpers/destination-database';
import { createPostgresExport, insertAttempts, runPostgresInterval } from '../helpers/postgres-exports';
import { insertDistinctIds, insertPersons, makePerson, mapping } from '../helpers/source-rows';
import { useTestStack } from '../helpers/stack';

describe('postgres-export failures', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '2' } });
  let destination: DestinationDatabase;
  let teamId: number;

  beforeAll(async () => {
    // Two rows per batch, so that an interval of a few rows spans several committed batches.
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    await insertEvents(stack.db.pool, [makeEvent(teamId, '2024-06-01T10:30:00Z')]);
  });

  afterAll(async () => {
    await destination?.drop();
  });

  const HOUR_END = '2024-06-01T11:00:00Z';

  /** A person and its distinct id changed in the hour ending at HOUR_END. */
  async function insertPersonChange() {
    const person = makePerson(teamId, '2024-06-01T10:10:00Z');
    await insertPersons(stack.db.pool, [person]);
    await insertDistinctIds(stack.db.pool, [mapping(teamId, 'someone', person.id, '2024-06-01T10:10:00Z')]);
  }

  async function expectFailedAtOnce(
    config: Record<string, unknown>,
    message: string,
    options: { model?: string; filters?: unknown[]; storedFilters?: unknown[] } = {},
  ) {
    const { storedFilters, ...exportOptions } = options;
    const batchExport = await createPostgresExport(stack, teamId, destination, { config, ...exportOptions });
    if (storedFilters) {
      // Saved before the API checked filters: written straight into the row.
      await stack.db.pool.query('UPDATE batch_exports SET filters = $1 WHERE id = $2', [
        JSON.stringify(storedFilters),
        batchExport.id,
      ]);
    }
    const { run, error } = await runPostgresInterval(stack, teamId, batchExport.id, HOUR_END);
    expect(error).not.toBeNull();
    expect(run.status).toBe('Failed');
    expect(run.latest_error).toContain(message);
    expect(await insertAttempts(stack, `${batchExport.id}-${HOUR_END}`)).toEqual([1]);
    const { rows } = await stack.db.pool.query(
      `SELECT message FROM batch_export_log_entries WHERE run_id = $1 AND level = 'ERROR'`,
      [run.id],
    );
    expect(rows.map((row) => row.message)).toEqual([expect.stringContaining(message)]);
    return run;
  }

  it('fails at once, saying to create the schema, when the schema does not exist', async () => {
    await expectFailedAtOnce({ schema: 'analytics' }, 'Schema "analytics" does not exist');
  });

  it('fails at once when the database does not exist', async () => {
    await expectFailedAtOnce(
      { database: 'no_such_database' },
      'Database "no_such_database" does not exist: check database',
    );
  });

  it('fails at once when the server refuses the user, without naming the user', async () => {
    const run = await expectFailedAtOnce({ user: 'ghost_user_4711' }, 'check user');
    expect(run.latest_error).not.toContain('ghost_user_4711');
  });

  it('fails at once, naming the grants needed, when the user may not create the table', async () => {
    const role = await createUnprivilegedRole();
    try {
      await expectFailedAtOnce(
        { user: role.name },
        'The user lacks a privilege: grant it USAGE and CREATE on schema "public"',
      );
    } finally {
      await role.drop();
    }
  });

  it("fails at once when the table's columns cannot hold the exported values", async () => {
    await destination.pool.query('CREATE TABLE typed_wrong (uuid uuid, event integer)');
    await expectFailedAtOnce({ table_name: 'typed_wrong' }, 'Exported values do not fit table "public"."typed_wrong"');
  });

  it('fails at once, naming the missing key columns, when persons go to a table made for events', async () => {
    await destination.pool.query('CREATE TABLE events_like (uuid uuid, event text)');
    await insertPersonChange();
    await expectFailedAtOnce(
      { table_name: 'events_like' },
      'Table "public"."events_like" lacks columns team_id, distinct_id, person_version, person_distinct_id_version: add them or use another table_name',
      { model: 'persons' },
    );
  });

  it('fails at once when a stored filter regex is not valid for Postgres (the API refuses it since)', async () => {
    await expectFailedAtOnce(
      { table_name: 'regex_filtered' },
      'A regular expression in the filters is not valid for Postgres: check the regex / not_regex filters',
      { storedFilters: [{ key: '$browser', operator: 'regex', value: '(?<name>Fire)fox', type: 'event' }] },
    );
  });

  it('retries when the database cannot be reached, and ends FailedRetryable when retries run out', async () => {
    const closedPort = await freePort();
    const batchExport = await createPostgresExport(stack, teamId, destination, { config: { port: closedPort } });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, HOUR_END);

    expect(run.status).toBe('FailedRetryable');
    expect(run.latest_error).toContain(`Could not reach the destination database at 127.0.0.1:${closedPort}`);
    expect(await insertAttempts(stack, `${batchExport.id}-${HOUR_END}`)).toEqual([2]);
    const { rows } = await stack.db.pool.query(
      `SELECT level, message FROM batch_export_log_entries WHERE run_id = $1 AND level IN ('WARNING', 'ERROR') ORDER BY timestamp`,
      [run.id],
    );
    const reason = `Could not reach the destination database at 127.0.0.1:${closedPort}`;
    const hint = '(network or service trouble, which may pass)';
    expect(rows).toEqual([
      {
        level: 'WARNING',
        message: expect.stringMatching(
          new RegExp(`^Attempt 1 of 2 failed: ${reason}.* ${escape(hint)}; next attempt at \\d{4}-\\d\\d-\\d\\dT`),
        ),
      },
      { level: 'WARNING', message: 'Retrying the export (attempt 2)' },
      {
        level: 'WARNING',
        message: expect.stringMatching(
          new RegExp(`^Attempt 2 of 2 failed: ${reason}.* ${escape(hint)}; no attempt left$`),
        ),
      },
      { level: 'ERROR', message: expect.stringContaining('failed after retries') },
    ]);
  });

  it('resumes after the last committed batch when an attempt fails midway, writing every row once', async () => {
    const events = ['a', 'b', 'c', 'd', 'fail-once', 'f'].map((name, i) =>
      makeEvent(teamId, `2024-06-02T10:0${i}:00Z`, { event: name }),
    );
    await insertEvents(stack.db.pool, events);
    // The third batch fails once, as a serialization failure would; statements that commit are counted.
    await destination.pool.query(`
      CREATE TABLE resumable (uuid uuid, event text, "timestamp" timestamptz);
      CREATE TABLE committed_inserts (n serial);
      CREATE SEQUENCE fail_once;
      CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.event = 'fail-once' AND nextval('fail_once') = 1 THEN
            RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$;
      CREATE FUNCTION count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO committed_inserts DEFAULT VALUES; RETURN NULL; END $$;
      CREATE TRIGGER fail_once BEFORE INSERT ON resumable FOR EACH ROW EXECUTE FUNCTION fail_once();
      CREATE TRIGGER count_insert AFTER INSERT ON resumable FOR EACH STATEMENT EXECUTE FUNCTION count_insert();
    `);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'resumable' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-06-02T11:00:00Z');

    expect(run).toMatchObject({ status: 'Completed', records_completed: 6 });
    const { rows } = await destination.pool.query('SELECT uuid FROM resumable ORDER BY "timestamp"');
    expect(rows.map((row) => row.uuid)).toEqual(events.map((event) => event.uuid));
    // Batches 1 and 2 committed by the first attempt, batch 3 by the second: nothing was sent twice.
    const { rows: inserts } = await destination.pool.query('SELECT count(*)::int AS n FROM committed_inserts');
    expect(inserts[0].n).toBe(3);
  });

  it('ends Cancelled, keeping the batches already committed, when the run is cancelled midway', async () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      makeEvent(teamId, new Date(Date.parse('2024-06-03T10:00:00Z') + i * 1000).toISOString()),
    );
    await insertEvents(stack.db.pool, events);
    await destination.pool.query(`
      CREATE TABLE slow (uuid uuid PRIMARY KEY, event text);
      CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$;
      CREATE TRIGGER slow_down AFTER INSERT ON slow FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
    `);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'slow' });
    const workflowId = `${batchExport.id}-cancelled`;
    const handle = await stack.temporal.workflow.start('postgres-export', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      args: [
        {
          batchExportId: batchExport.id,
          teamId,
          interval: 'hour',
          timezone: 'UTC',
          dataIntervalEnd: '2024-06-03T11:00:00Z',
          // Heartbeats (which carry the cancellation) at least every 1.6 s.
          insertActivity: { heartbeatTimeoutSeconds: 2 },
        },
      ],
    });
    for (let i = 0; i < 300; i++) {
      const { rows } = await destination.pool.query('SELECT count(*)::int AS n FROM slow');
      if (rows[0].n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();

    const [run] = await listRuns(stack.db.pool, batchExport.id);
    expect(run!.status).toBe('Cancelled');
    const { rows } = await destination.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT uuid)::int AS d FROM slow',
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(rows[0].n).toBeLessThan(events.length);
    expect(rows[0].n).toBe(rows[0].d);
  });
});

/** `text` as a regular expression matching it literally. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
