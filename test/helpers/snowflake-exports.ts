import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { startFakesnow, type FakesnowServer } from './fakesnow';
import type { TestStack } from './stack';

export const SNOWFLAKE_DATABASE = 'ANALYTICS';
export const SNOWFLAKE_SCHEMA = 'EXPORTS';

/** A fakesnow server holding SNOWFLAKE_DATABASE.SNOWFLAKE_SCHEMA for this test file: up before its tests, stopped after. */
export function useFakesnow(): FakesnowServer {
  const server = {} as FakesnowServer;
  beforeAll(async () => {
    Object.assign(server, await startFakesnow([{ database: SNOWFLAKE_DATABASE, schema: SNOWFLAKE_SCHEMA }]));
  });
  afterAll(async () => {
    await server.stop?.();
  });
  return server;
}

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
