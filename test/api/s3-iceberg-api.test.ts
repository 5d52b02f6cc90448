import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDestinationConfigWithSecrets } from '../../src/db/batch-exports';
import { createDestinationDatabase, type DestinationDatabase } from '../helpers/destination-database';
import { useApiTest } from './helpers';

describe('S3Iceberg exports through the HTTP API', () => {
  const api = useApiTest();
  let catalog: DestinationDatabase;
  let destination: { type: 'S3Iceberg'; config: Record<string, unknown> };

  beforeAll(async () => {
    catalog = await createDestinationDatabase();
    const bucket = (await api.s3Destination()).config;
    const { host, port, user, database } = catalog.connection;
    destination = {
      type: 'S3Iceberg',
      config: {
        bucket_name: bucket.bucket_name,
        endpoint_url: bucket.endpoint_url,
        aws_access_key_id: bucket.aws_access_key_id,
        aws_secret_access_key: bucket.aws_secret_access_key,
        namespace: 'analytics',
        table_name: 'events',
        catalog_host: host,
        catalog_port: port,
        catalog_user: user,
        catalog_password: 'catalog password never shown',
        catalog_database: database,
      },
    };
  });

  afterAll(async () => {
    await catalog?.drop();
  });

  it('creates an export with defaults filled in, never returning the credentials or the catalog login', async () => {
    const response = await api.call('POST', `/api/projects/${api.teamId}/batch_exports`, {
      body: { name: 'iceberg', destination },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.destination).toMatchObject({
      type: 'S3Iceberg',
      config: { namespace: 'analytics', table_name: 'events', partition_by: 'day', catalog_type: 'sql' },
    });
    for (const secret of ['aws_secret_access_key', 'aws_access_key_id', 'catalog_user', 'catalog_password']) {
      expect(response.body.destination.config).not.toHaveProperty(secret);
    }
    expect(response.text).not.toContain('catalog password never shown');
    const stored = await getDestinationConfigWithSecrets(
      api.stack.db.pool,
      api.stack.config.encryptionKey,
      response.body.id,
    );
    expect(stored?.config).toMatchObject({ catalog_password: 'catalog password never shown' });
  });

  it.each([
    [{ table_name: 'Events' }, 'destination.config.table_name'],
    [{ catalog_host: undefined }, 'destination.config.catalog_host'],
    [{ partition_by: 'minute' }, 'destination.config.partition_by'],
    [{ prefix: '{year}' }, 'destination.config.prefix'],
  ])('refuses an invalid config with 400 naming the field (%#)', async (change, attr) => {
    const response = await api.call('POST', `/api/projects/${api.teamId}/batch_exports`, {
      body: { name: 'bad', destination: { ...destination, config: { ...destination.config, ...change } } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: 'validation_error', attr });
  });

  it("passes every test step for a working bucket and catalog database, creating the catalog's tables", async () => {
    const org = `/api/organizations/${api.organizationId}/batch_exports`;
    const steps = await api.call('GET', `${org}/test?destination=S3Iceberg`);
    expect(steps.status).toBe(200);
    const names = steps.body.steps.map((step: { name: string }) => step.name);
    expect(names.at(-1)).toBe('Connect to the catalog');
    for (const [step] of names.entries()) {
      const response = await api.call('POST', `${org}/run_test_step_new`, {
        body: { name: 'draft', step, destination },
      });
      expect(response.status).toBe(200);
      expect(response.body.result, `step ${step}`).toEqual({ status: 'Passed', message: null });
    }
    const { rows } = await catalog.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'iceberg_%' ORDER BY 1`,
    );
    expect(rows.map((row) => row.table_name)).toEqual(['iceberg_namespace_properties', 'iceberg_tables']);
  });
});
