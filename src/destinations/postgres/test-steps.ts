import type { Client } from 'pg';
import type { DestinationTestStep, TestStepContext } from '../contract';
import { BatchExportError } from '../../errors';
import { EVENT_FIELDS } from '../../models/events';
import type { PostgresDestinationConfig } from './config';
import { connectToDestination } from './connect';
import { classifyPostgresError, errorContext } from './errors';
import { createTableStatement, tableSpec } from './table';

/** Runs `fn` connected with the config; errors come out as messages telling what to fix. */
async function withDestination(
  config: PostgresDestinationConfig,
  { signal, access }: TestStepContext,
  fn: (client: Client) => Promise<void>,
): Promise<void> {
  let client: Client | undefined;
  // A step that timed out stops talking to the server; its result was already given up on.
  const stop = () => void client?.end().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  try {
    client = await connectToDestination(config, access);
    await fn(client);
  } catch (error) {
    throw classifyPostgresError(error, errorContext(config));
  } finally {
    signal.removeEventListener('abort', stop);
    await client?.end().catch(() => undefined);
  }
}

const EVENTS_TABLE = tableSpec({
  model: 'events',
  fields: EVENT_FIELDS,
  source: { text: '', values: [] },
  orderBy: [],
});

export const POSTGRES_TEST_STEPS: readonly DestinationTestStep<PostgresDestinationConfig>[] = [
  {
    name: 'Connect to the database',
    description: 'Logs in to the database with the given host, port, user and password.',
    async run(config, context) {
      await withDestination(config, context, async (client) => {
        await client.query('SELECT 1');
      });
    },
  },
  {
    name: 'Check the schema exists',
    description: 'Looks the schema up in the database.',
    async run(config, context) {
      await withDestination(config, context, async (client) => {
        const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [config.schema]);
        if (!rowCount) {
          throw new BatchExportError(`Schema "${config.schema}" does not exist: create it or check schema`, {
            kind: 'configuration',
          });
        }
      });
    },
  },
  {
    name: 'Check the table can be created',
    description: 'Creates the events table if it is missing, in a transaction that is rolled back: nothing is kept.',
    async run(config, context) {
      await withDestination(config, context, async (client) => {
        await client.query('BEGIN');
        try {
          await client.query(createTableStatement(EVENTS_TABLE, config.schema, config.table_name));
        } finally {
          await client.query('ROLLBACK');
        }
      });
    },
  },
];
