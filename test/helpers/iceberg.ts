import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createDestinationDatabase, type DestinationDatabase } from './destination-database';
import { createTeam } from './fixtures';
import { insertPageviews } from './source-rows';
import { TEST_CREDENTIALS, testS3Client } from './s3';
import type { TestStack } from './stack';

const execFileAsync = promisify(execFile);

/** Intervals the Iceberg tests export: three hours of 2024-09-01. */
export const ICEBERG_HOURS = ['2024-09-01T11:00:00Z', '2024-09-01T12:00:00Z', '2024-09-01T13:00:00Z'];

export interface IcebergTestbed {
  s3: S3Client;
  /** The database holding the SQL catalog. */
  catalog: DestinationDatabase;
  teamId: number;
}

/**
 * For a test file: an S3 client, a catalog database and a team with 300 events in each hour of ICEBERG_HOURS (one
 * every 12 s), ready in beforeAll; dropped afterwards.
 */
export function useIcebergTestbed(stack: TestStack): IcebergTestbed {
  const testbed = {} as IcebergTestbed;
  beforeAll(async () => {
    testbed.s3 = testS3Client(stack.s3Endpoint);
    testbed.catalog = await createDestinationDatabase();
    ({ teamId: testbed.teamId } = await createTeam(stack.db.pool));
    await insertPageviews(stack.db.pool, testbed.teamId, 900, '2024-09-01 09:59:50+00', 12_000);
  });
  afterAll(async () => {
    testbed.s3?.destroy();
    await testbed.catalog?.drop();
  });
  return testbed;
}

/** An S3Iceberg destination: the table in `bucket` of the test's moto server, its SQL catalog in `catalog`. */
export function testIcebergDestination(
  stack: TestStack,
  bucket: string,
  catalog: DestinationDatabase,
  extra: Record<string, unknown> = {},
) {
  const { host, port, user, password, database } = catalog.connection;
  return {
    type: 'S3Iceberg' as const,
    config: {
      bucket_name: bucket,
      region: 'us-east-1',
      endpoint_url: stack.s3Endpoint,
      ...TEST_CREDENTIALS,
      namespace: 'analytics',
      table_name: 'events',
      catalog_host: host,
      catalog_port: port,
      catalog_user: user,
      catalog_password: password,
      catalog_database: database,
      ...extra,
    },
  };
}

export async function createIcebergExport(
  stack: TestStack,
  teamId: number,
  bucket: string,
  catalog: DestinationDatabase,
  options: { config?: Record<string, unknown>; model?: string; hogqlQuery?: string } = {},
) {
  return createBatchExport(stack.services, teamId, {
    name: `iceberg ${bucket}`,
    model: options.model ?? 'events',
    ...(options.hogqlQuery ? { hogql_query: options.hogqlQuery } : {}),
    destination: testIcebergDestination(stack, bucket, catalog, options.config),
    interval: 'hour',
  });
}

export interface IcebergReadBack {
  snapshots: Array<{
    id: number;
    parent: number | null;
    sequence: number;
    operation: string;
    summary: Record<string, string>;
  }>;
  currentSnapshot: number;
  schema: Array<{ id: number; name: string; type: string }>;
  schemaIds: number[];
  /** The sort order's columns. */
  sortOrder: string[];
  spec: Array<{ name: string; transform: string; source: string }>;
  pyiceberg: { rows: Array<Record<string, unknown>> };
  duckdb: { rows: Array<Record<string, unknown>> };
  files: Array<{ path: string; records: number; partition: unknown[] }>;
  metadataLog: number;
}

/** The table as pyiceberg (through the SQL catalog, or Glue) and DuckDB read it (test/helpers/read_iceberg.py). */
export async function readIcebergTable(
  stack: TestStack,
  catalog: DestinationDatabase | 'glue',
  table = 'analytics.events',
  columns: string[] = [],
): Promise<IcebergReadBack> {
  let uri = 'glue';
  if (catalog !== 'glue') {
    const { host, port, user, password, database } = catalog.connection;
    const login = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
    uri = `postgresql+psycopg2://${login}@${host}:${port}/${database}`;
  }
  const script = path.join(__dirname, 'read_iceberg.py');
  const { stdout } = await execFileAsync(
    'python3',
    [script, uri, 'default', table, stack.s3Endpoint, columns.join(',')],
    {
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as IcebergReadBack;
}
