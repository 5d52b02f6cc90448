import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/ports';
import { runTestStep } from '../../src/service/test-steps';
import {
  createDestinationDatabase,
  createUnprivilegedRole,
  type DestinationDatabase,
} from '../helpers/destination-database';

describe('Postgres destination test steps', () => {
  let destination: DestinationDatabase;

  beforeAll(async () => {
    destination = await createDestinationDatabase();
  });

  afterAll(async () => {
    await destination?.drop();
  });

  // The destination database is on loopback, which the default policy refuses.
  const deps = { config: { destinationAccess: { allowedNetworks: ['127.0.0.0/8'], s3WorkerCredentials: false } } };
  const run = (step: number, config: Record<string, unknown> = {}) =>
    runTestStep(deps, {
      step,
      destination: { type: 'Postgres', config: { ...destination.connection, table_name: 'events_export', ...config } },
    });

  it('passes every step for a database the user may write to, and leaves no table behind', async () => {
    const results = [await run(0), await run(1), await run(2)];
    expect(results.map((result) => [result.name, result.result])).toEqual([
      ['Connect to the database', { status: 'Passed', message: null }],
      ['Check the schema exists', { status: 'Passed', message: null }],
      ['Check the table can be created', { status: 'Passed', message: null }],
    ]);
    const { rows } = await destination.pool.query(`SELECT to_regclass('public.events_export') AS table`);
    expect(rows[0].table).toBeNull();
  });

  it('fails the connection step with what to check when nothing listens on the port', async () => {
    const port = await freePort();
    const { result } = await run(0, { port });
    expect(result.status).toBe('Failed');
    expect(result.message).toContain(`Could not reach the destination database at 127.0.0.1:${port}`);
  });

  it('fails the schema step when the schema does not exist', async () => {
    const { result } = await run(1, { schema: 'warehouse' });
    expect(result).toEqual({
      status: 'Failed',
      message: 'Schema "warehouse" does not exist: create it or check schema',
    });
  });

  it('fails the table step, naming the grants, when the user may not create tables', async () => {
    const role = await createUnprivilegedRole();
    try {
      const { result } = await run(2, { user: role.name });
      expect(result.status).toBe('Failed');
      expect(result.message).toContain('The user lacks a privilege: grant it USAGE and CREATE on schema "public"');
      expect(result.message).not.toContain(role.name);
    } finally {
      await role.drop();
    }
  });
});
