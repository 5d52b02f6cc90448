import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { createPostgresExport, runPostgresInterval } from '../helpers/postgres-exports';
import { useTestStack } from '../helpers/stack';

const START = '2024-06-01T10:00:00Z';
const END = '2024-06-01T11:00:00Z';
const BATCH_ROWS = 5;

describe('events into a table with a unique index on uuid', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: String(BATCH_ROWS) } });
  let destination: DestinationDatabase;
  let teamId: number;
  let events: TestEvent[];

  beforeAll(async () => {
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    // Four batches of five, in the export's order (inserted_at).
    events = Array.from({ length: 4 * BATCH_ROWS }, (_, i) =>
      makeEvent(teamId, new Date(Date.parse(START) + (i + 1) * 60_000).toISOString()),
    );
    await insertEvents(stack.db.pool, events);
    // Each statement that adds rows to a logged table records how it added them (COPY or INSERT) and how many.
    await destination.pool.query(`
      CREATE TABLE statements (tbl text, command text, added int, at serial);
      CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO statements (tbl, command, added)
          SELECT TG_TABLE_NAME, upper(split_part(ltrim(current_query()), ' ', 1)), count(*) FROM added;
        RETURN NULL;
      END $$;
    `);
  });

  afterAll(async () => {
    await destination?.drop();
  });

  async function loggedTable(name: string): Promise<void> {
    await destination.pool.query(`
      CREATE TABLE ${name} (uuid uuid PRIMARY KEY, event text, "timestamp" timestamptz);
      CREATE TRIGGER log_statement AFTER INSERT ON ${name} REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
    `);
  }

  async function statements(table: string): Promise<string[]> {
    const { rows } = await destination.pool.query<{ command: string; added: number }>(
      'SELECT command, added FROM statements WHERE tbl = $1 ORDER BY at',
      [table],
    );
    return rows.map((row) => `${row.command} ${row.added}`);
  }

  async function uuids(table: string): Promise<string[]> {
    const { rows } = await destination.pool.query<{ uuid: string }>(`SELECT uuid FROM ${table} ORDER BY "timestamp"`);
    return rows.map((row) => row.uuid);
  }

  it('copies batches straight into the table, through staging only from a batch that meets a row already there', async () => {
    await loggedTable('appended');
    // A row of the second batch is in the table already (as after an attempt that committed it and died).
    const present = events[BATCH_ROWS + 2]!;
    await destination.pool.query(`INSERT INTO appended VALUES ($1, $2, $3)`, [
      present.uuid,
      present.event,
      present.timestamp,
    ]);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'appended' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, END);

    expect(run).toMatchObject({ status: 'Completed', records_completed: events.length, latest_error: null });
    // Every event once, the one already there included, and the table's own count after commit agrees.
    expect(await uuids('appended')).toEqual(events.map((event) => event.uuid));
    expect(run.receipt).toMatchObject({ sourceRecords: events.length, destinationRecords: events.length });
    // The test's own INSERT; batch 1 by COPY; batch 2's COPY met the row (rolled back, so not logged) and went
    // through staging (a run for a given interval replaces: the row is deleted, the five inserted); batch 3 through
    // staging too, and as none of its rows was there, batch 4 is copied again.
    expect(await statements('appended')).toEqual(['INSERT 1', 'COPY 5', 'INSERT 5', 'INSERT 5', 'COPY 5']);
  });

  it('exports an interval again without a duplicate: each batch goes through the staging table', async () => {
    await loggedTable('again');
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'again' });

    await runPostgresInterval(stack, teamId, batchExport.id, END);
    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, END);

    expect(run).toMatchObject({ status: 'Completed', records_completed: events.length });
    expect(await uuids('again')).toEqual(events.map((event) => event.uuid));
    expect(run.receipt).toMatchObject({ destinationRecords: events.length });
    // The first run appends; in the second every batch met its rows, which staging replaced.
    expect(await statements('again')).toEqual([
      ...Array.from({ length: 4 }, () => `COPY ${BATCH_ROWS}`),
      ...Array.from({ length: 4 }, () => `INSERT ${BATCH_ROWS}`),
    ]);
  });

  it('keeps the staging path for a table without the unique index', async () => {
    await destination.pool.query(`CREATE TABLE plain (uuid uuid, event text, "timestamp" timestamptz)`);
    await destination.pool.query(`
      CREATE TRIGGER log_statement AFTER INSERT ON plain REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
    `);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'plain' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, END);

    expect(run).toMatchObject({ status: 'Completed', records_completed: events.length });
    expect(await statements('plain')).toEqual(Array.from({ length: 4 }, () => `INSERT ${BATCH_ROWS}`));
  });
});
