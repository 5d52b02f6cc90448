import type { Client } from 'pg';
import type { DestinationTestStep } from '..';
import { EVENT_FIELDS } from '../../models/events';
import { PostgresDestinationConfig } from './config';
import { connectToDestination } from './connect';
import { classifyPostgresError, errorContext } from './errors';
import { createTableStatement, tableSpec } from './table';

/** Runs `fn` connected with the config; errors come out as messages telling what to fix. */
async function withDestination(
  rawConfig: Record<string, unknown>,
  fn: (client: Client, config: PostgresDestinationConfig) => Promise<void>,
) {
  const config = PostgresDestinationConfig.parse(rawConfig);
  let client: Client | undefined;
  try {
    client = await connectToDestination(config);
    await fn(client, config);
  } catch (error) {
    throw classifyPostgresError(error, errorContext(config));
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export const POSTGRES_TEST_STEPS: readonly DestinationTestStep[] = [
  {
    name: 'Connect to the database',
    description: 'Logs in to the database with the given host, port, user and password.',
    async run(config) {
      await withDestination(config, async (client) => {
        await client.query('SELECT 1');
      });
    },
  },
  {
    name: 'Check the schema exists',
    description: 'Looks the schema up in the database.',
    async run(rawConfig) {
      await withDestination(rawConfig, async (client, config) => {
        const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [config.schema]);
        if (!rowCount) throw new Error(`Schema "${config.schema}" does not exist: create it or check schema`);
      });
    },
  },
  {
    name: 'Check the table can be created',
    description: 'Creates the events table if it is missing, in a transaction that is rolled back: nothing is kept.',
    async run(rawConfig) {
      await withDestination(rawConfig, async (client, config) => {
        await client.query('BEGIN');
        try {
          const spec = tableSpec({
            model: 'events',
            fields: EVENT_FIELDS,
            source: { text: '', values: [] },
            orderBy: [],
          });
          await client.query(createTableStatement(spec, config.schema, config.table_name));
        } finally {
          await client.query('ROLLBACK');
        }
      });
    },
  },
];
