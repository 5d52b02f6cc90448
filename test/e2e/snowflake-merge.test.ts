import { beforeAll, describe, expect, it } from 'vitest';
import { SnowflakeDestinationConfig } from '../../src/destinations/snowflake/config';
import { exportToSnowflake } from '../../src/destinations/snowflake/export';
import { buildModelQuery } from '../../src/models';
import { createTeam, insertEvents, makeEvent } from '../helpers/fixtures';
import { SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, snowflakeConfig, useFakesnow } from '../helpers/snowflake-exports';
import { useTestStack } from '../helpers/stack';

/**
 * The insert-only MERGE of scheduled runs (`replace` false; the workflow tests run with explicit intervals, which
 * replace), and a batch sent again after its MERGE, as an attempt resuming from progress saved before it does.
 */
describe('Snowflake MERGE of events without replace (fakesnow server)', () => {
  const stack = useTestStack({ worker: false });
  const server = useFakesnow();
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(stack.db.pool));
  });

  it('adds each event once, however often its batch is sent, and keeps the first values of a uuid', async () => {
    const events = [0, 1, 2, 3, 4].map((i) => makeEvent(teamId, `2024-06-01T10:0${i}:00Z`, { event: `e${i}` }));
    await insertEvents(stack.db.pool, events);
    const config = SnowflakeDestinationConfig.parse(snowflakeConfig(server, { table_name: 'scheduled' }));
    const query = buildModelQuery({
      batchExport: { team_id: teamId, model: 'events', hogql_query: null, filters: null },
      dataIntervalStart: new Date('2024-06-01T10:00:00Z'),
      dataIntervalEnd: new Date('2024-06-01T11:00:00Z'),
    });
    const cursors: string[][] = [];
    const exportOnce = (resumeFrom: { cursor: string[]; records: number; bytes: number } | null) =>
      exportToSnowflake({
        config,
        network: { allowedNetworks: ['127.0.0.0/8'] },
        query,
        sourcePool: stack.db.pool,
        batchSize: 2,
        batchBytes: 1024 * 1024,
        resumeFrom,
        replace: false,
        onCommit: (progress) => void cursors.push(progress.cursor),
      });

    const first = await exportOnce(null);
    expect(first).toMatchObject({ records: 5, sourceRecords: 5, destinationRecords: 5 });
    // An attempt that resumes after the first batch of two: batches two and three are sent again.
    await stack.db.pool.query(`UPDATE events SET event = 'changed' WHERE team_id = $1`, [teamId]);
    const resumed = await exportOnce({ cursor: cursors[0]!, records: 2, bytes: 0 });
    expect(resumed).toMatchObject({ records: 5, sourceRecords: 5, destinationRecords: 5 });

    const rows = await server.query(
      SNOWFLAKE_DATABASE,
      SNOWFLAKE_SCHEMA,
      `SELECT "uuid", "event" FROM "scheduled" ORDER BY "event"`,
    );
    // Insert-only: the rows sent again did not replace what the table held.
    expect(rows).toEqual(events.map((event) => ({ uuid: event.uuid, event: event.event })));
  });
});
