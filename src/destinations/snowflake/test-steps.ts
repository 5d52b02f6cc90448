import type { DestinationTestStep, TestStepContext } from '../contract';
import type { SnowflakeDestinationConfig } from './config';
import { connectToSnowflake, quoteIdentifier, useContext, type SnowflakeSession } from './connect';
import { classifySnowflakeError, errorContext } from './errors';

/** Runs `fn` logged in with the config; errors come out as messages telling what to fix. */
async function withSession(
  config: SnowflakeDestinationConfig,
  { signal, access }: TestStepContext,
  fn: (session: SnowflakeSession) => Promise<void>,
): Promise<void> {
  let session: SnowflakeSession | undefined;
  // A step that timed out stops talking to Snowflake; its result was already given up on.
  const stop = () => void session?.close().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  try {
    session = await connectToSnowflake(config, access);
    await fn(session);
  } catch (error) {
    throw classifySnowflakeError(error, errorContext(config));
  } finally {
    signal.removeEventListener('abort', stop);
    await session?.close().catch(() => undefined);
  }
}

export const SNOWFLAKE_TEST_STEPS: readonly DestinationTestStep<SnowflakeDestinationConfig>[] = [
  {
    name: 'Log in to Snowflake',
    description: 'Logs in to the account as the user, with the password or the key pair (and the role, if given).',
    async run(config, context) {
      await withSession(config, context, async () => undefined);
    },
  },
  {
    name: 'Use the warehouse, database and schema',
    description: 'Runs USE WAREHOUSE, USE DATABASE and USE SCHEMA with the configured names.',
    async run(config, context) {
      await withSession(config, context, (session) => useContext(session, config));
    },
  },
  {
    name: 'Create and drop a probe table',
    description: 'Creates a table in the schema and drops it again: the role may create the export table.',
    async run(config, context) {
      await withSession(config, context, async (session) => {
        await useContext(session, config);
        const probe = quoteIdentifier(`batch_export_probe_${Date.now().toString(36)}`);
        await session.execute(`CREATE TABLE ${probe} (id NUMBER)`);
        await session.execute(`DROP TABLE ${probe}`);
      });
    },
  },
];
