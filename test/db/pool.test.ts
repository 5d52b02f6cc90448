import { describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool';
import { useTestDatabase } from '../helpers/database';

describe('a pool whose checked-out connection is terminated', () => {
  const db = useTestDatabase();

  it('reports the loss, fails the next query on that client and keeps serving others', async () => {
    const lost: Error[] = [];
    let reported: () => void = () => undefined;
    const reportedOnce = new Promise<void>((resolve) => (reported = resolve));
    const pool = createPool(db.url, {
      max: 2,
      applicationName: 'pool-under-test',
      onConnectionError: (error) => {
        lost.push(error);
        reported();
      },
    });
    try {
      // Between two statements of a transaction, as the service keeps one while it changes Temporal.
      const client = await pool.connect();
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await reportedOnce;

      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      const { rows: after } = await pool.query<{ one: number }>('SELECT 1 AS one');

      expect(lost[0]?.message).toMatch(/terminat/);
      expect(after).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});
