import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/db/runs';
import { createBackfill } from '../../src/service/backfills';
import { backfillDeps, waitForBackfill } from '../helpers/backfills';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { createTeam, insertEvents, makeEvent, type TestEvent } from '../helpers/fixtures';
import { createPostgresExport, insertAttempts, runPostgresInterval } from '../helpers/postgres-exports';
import { useTestStack } from '../helpers/stack';

const START = '2024-05-01T10:00:00Z';
const END = '2024-05-01T12:00:00Z';

describe('the Postgres destination after a backfill and after its own count', () => {
  const stack = useTestStack({ env: { SOURCE_BATCH_SIZE: '7' } });
  let destination: DestinationDatabase;
  let teamId: number;
  let events: TestEvent[];
  /** What the source holds: the events, and one of them inserted again an hour later. */
  let sourceRows: TestEvent[];

  beforeAll(async () => {
    // Small batches: an interval is loaded in several transactions, as a big one would be.
    destination = await createDestinationDatabase();
    ({ teamId } = await createTeam(stack.db.pool));
    events = Array.from({ length: 40 }, (_, i) =>
      makeEvent(teamId, new Date(Date.parse(START) + i * 170_000).toISOString()),
    );
    // An event inserted again in the next hour: both hours export it, and the table holds it once.
    sourceRows = [...events, { ...events[3]!, inserted_at: '2024-05-01T11:30:00Z' }];
    await insertEvents(stack.db.pool, sourceRows);
  });

  afterAll(async () => {
    await destination?.drop();
  });

  async function backfill(batchExportId: string) {
    const created = await createBackfill(backfillDeps(stack), {
      teamId,
      batchExportId,
      body: { start_at: START, end_at: END },
    });
    return waitForBackfill(stack, created);
  }

  const uuidsIn = async (table: string) =>
    (await destination.pool.query<{ uuid: string }>(`SELECT uuid::text FROM ${table} ORDER BY uuid`)).rows.map(
      (row) => row.uuid,
    );

  it('puts every row back exactly once, as the source has it, after the table was truncated or changed', async () => {
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'repaired' });
    expect((await backfill(batchExport.id)).status).toBe('Completed');
    const expected = events.map((event) => event.uuid).sort();
    expect(await uuidsIn('repaired')).toEqual(expected);

    await destination.pool.query('TRUNCATE repaired');
    expect((await backfill(batchExport.id)).status).toBe('Completed');
    expect(await uuidsIn('repaired')).toEqual(expected);

    // A row someone changed is replaced by the source's; one someone deleted comes back.
    await destination.pool.query(`UPDATE repaired SET event = 'tampered' WHERE uuid = $1`, [events[0]!.uuid]);
    await destination.pool.query('DELETE FROM repaired WHERE uuid = $1', [events[1]!.uuid]);
    expect((await backfill(batchExport.id)).status).toBe('Completed');
    expect(await uuidsIn('repaired')).toEqual(expected);
    const { rows } = await destination.pool.query('SELECT event FROM repaired WHERE uuid = $1', [events[0]!.uuid]);
    expect(rows).toEqual([{ event: '$pageview' }]);

    // Each run's receipt: the source's count for its hour and the table's own count after commit.
    const runs = (await listRuns(stack.db.pool, batchExport.id)).filter((run) => run.status === 'Completed');
    expect(runs).toHaveLength(6);
    for (const run of runs) {
      const [from, to] = [run.data_interval_start!.getTime(), run.data_interval_end.getTime()];
      const inHour = sourceRows.filter(
        (row) => Date.parse(row.inserted_at) >= from && Date.parse(row.inserted_at) < to,
      ).length;
      expect(run.records_total_count).toBe(inHour);
      expect(run.receipt).toMatchObject({ sourceRecords: inHour, recordsWritten: inHour, destinationRecords: inHour });
    }
  });

  it('fails the run, without retrying, when the table does not hold what was written', async () => {
    await destination.pool.query(`CREATE TABLE swallowing (uuid uuid PRIMARY KEY, event text, timestamp timestamptz)`);
    // Stands for a rule or trigger of the user's that drops rows.
    await destination.pool.query(`
      CREATE FUNCTION drop_every_other() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF (SELECT count(*) FROM swallowing) % 2 = 1 THEN RETURN NULL; END IF; RETURN NEW; END $$;
      CREATE TRIGGER drop_every_other BEFORE INSERT ON swallowing FOR EACH ROW EXECUTE FUNCTION drop_every_other();
    `);
    const batchExport = await createPostgresExport(stack, teamId, destination, { table_name: 'swallowing' });

    const { run } = await runPostgresInterval(stack, teamId, batchExport.id, '2024-05-01T11:00:00Z');

    const held = Number((await destination.pool.query('SELECT count(*) FROM swallowing')).rows[0].count);
    const inHour = events.filter((event) => Date.parse(event.inserted_at) < Date.parse('2024-05-01T11:00:00Z')).length;
    expect(held).toBeLessThan(inHour);
    expect(run.status).toBe('Failed');
    expect(run.latest_error).toBe(
      `After the last commit, table "public"."swallowing" holds ${held} of the ${inHour} rows the source has for ` +
        `the interval (${inHour} written): a trigger, rule or another writer changed them. Retry the run once the ` +
        'table is fixed',
    );
    expect(await insertAttempts(stack, `${batchExport.id}-2024-05-01T11:00:00Z`)).toEqual([1]);
  });
});
