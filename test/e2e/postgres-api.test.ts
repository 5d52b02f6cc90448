import { beforeAll, describe, expect, it } from 'vitest';
import { getDestinationConfigWithSecrets } from '../../src/db/batch-exports';
import { useApiTest } from '../api/helpers';

describe('Postgres exports through the HTTP API', () => {
  const api = useApiTest();
  let base: string;
  const destination = {
    type: 'Postgres',
    config: {
      // A name that resolves without asking a DNS server: saving resolves the host.
      host: 'localhost',
      user: 'exporter_user',
      password: 'correct horse battery staple',
      database: 'analytics',
      table_name: 'posthog_persons',
    },
  };

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
  });

  it('creates a persons export to Postgres with defaults filled in, never returning user or password', async () => {
    const response = await api.call('POST', base, { body: { name: 'persons', model: 'persons', destination } });

    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({
      model: 'persons',
      destination: {
        type: 'Postgres',
        config: {
          host: 'localhost',
          port: 5432,
          database: 'analytics',
          schema: 'public',
          table_name: 'posthog_persons',
          has_self_signed_cert: false,
        },
      },
    });
    expect(response.body.destination.config).not.toHaveProperty('user');
    expect(response.body.destination.config).not.toHaveProperty('password');
    expect(response.text).not.toContain('exporter_user');
    expect(response.text).not.toContain('correct horse');
    const stored = await getDestinationConfigWithSecrets(
      api.stack.db.pool,
      api.stack.config.encryptionKey,
      response.body.id,
    );
    expect(stored?.config).toMatchObject({ user: 'exporter_user', password: 'correct horse battery staple' });
    const schedule = await api.stack.temporal.schedule.getHandle(response.body.id).describe();
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'batch-export' });
  });

  it.each([
    [{ ...destination.config, table_name: undefined }, 'destination.config.table_name'],
    [{ ...destination.config, port: '5432' }, 'destination.config.port'],
    [{ ...destination.config, host: 'postgres://warehouse.example.com/db' }, 'destination.config.host'],
    [{ ...destination.config, schema: 'x'.repeat(64) }, 'destination.config.schema'],
    [{ ...destination.config, sslmode: 'require' }, 'destination.config.sslmode'],
  ])('refuses an invalid config with 400 naming the field (%#)', async (config, attr) => {
    const response = await api.call('POST', base, {
      body: { name: 'bad', destination: { type: 'Postgres', config } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: 'validation_error', attr });
  });

  it('refuses a hogql_query that selects from another table, with the reason', async () => {
    const response = await api.call('POST', base, {
      body: { name: 'hogql', destination, hogql_query: 'SELECT distinct_id FROM persons' },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      attr: 'hogql_query',
      detail: expect.stringContaining('Unknown table "persons": a hogql_query can only select FROM events'),
    });
  });
});
