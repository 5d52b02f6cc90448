import { randomUUID } from 'node:crypto';
import { createBatchExport } from '../../src/service/batch-exports';
import type { FakesnowServer } from './fakesnow';
import type { TestStack } from './stack';

export const SNOWFLAKE_DATABASE = 'ANALYTICS';
export const SNOWFLAKE_SCHEMA = 'EXPORTS';

/** A Snowflake destination config pointing at a fakesnow server (any password logs in there). */
export function snowflakeConfig(server: FakesnowServer, overrides: Record<string, unknown> = {}) {
  return {
    ...server.endpoint,
    user: 'exporter',
    password: 'a-password',
    warehouse: 'COMPUTE_WH',
    database: SNOWFLAKE_DATABASE,
    schema: SNOWFLAKE_SCHEMA,
    table_name: 'events',
    ...overrides,
  };
}

/** Creates a Snowflake export of `model` into the fakesnow server. */
export async function createSnowflakeExport(
  stack: TestStack,
  teamId: number,
  server: FakesnowServer,
  options: { model?: string; config?: Record<string, unknown> } = {},
) {
  return createBatchExport(stack.services, teamId, {
    name: `snowflake ${randomUUID()}`,
    model: options.model ?? 'events',
    destination: { type: 'Snowflake', config: snowflakeConfig(server, options.config) },
    interval: 'hour',
  });
}
