import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createBatchExport } from '../../src/service/batch-exports';
import type { DestinationDatabase } from './destination-database';
import { TEST_CREDENTIALS } from './s3';
import type { TestStack } from './stack';

const execFileAsync = promisify(execFile);

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
  /** The sort order's columns. */
  sortOrder: string[];
  spec: Array<{ name: string; transform: string; source: string }>;
  pyiceberg: { rows: Array<Record<string, unknown>> };
  duckdb: { rows: Array<Record<string, unknown>> };
  files: Array<{ path: string; records: number; partition: unknown[] }>;
  metadataLog: number;
}

/** The table as pyiceberg (through the SQL catalog) and DuckDB read it (test/helpers/read_iceberg.py). */
export async function readIcebergTable(
  stack: TestStack,
  catalog: DestinationDatabase,
  table = 'analytics.events',
  columns: string[] = [],
): Promise<IcebergReadBack> {
  const { host, port, user, password, database } = catalog.connection;
  const credentials = password
    ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
    : encodeURIComponent(user);
  const uri = `postgresql+psycopg2://${credentials}@${host}:${port}/${database}`;
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
