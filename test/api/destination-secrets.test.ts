import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDestinationConfigWithSecrets } from '../../src/db/batch-exports';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server';
import { TEST_CREDENTIALS } from '../helpers/s3';
import { LOOPBACK_NETWORKS } from '../helpers/stack';
import { startApiTest, type ApiTest } from './helpers';

const STORED_PASSWORD = 'stored-password-never-elsewhere';

/**
 * Stored secrets only go where they were given for. A fake Postgres server on loopback (allowed in this file)
 * records what clients send it: a stored password must never arrive there.
 */
describe('destination secrets are bound to their endpoint', () => {
  let api: ApiTest;
  let fake: RecordingServer;
  let exports: string;

  beforeAll(async () => {
    api = await startApiTest();
    fake = await startRecordingServer({ postgres: true });
    exports = `/api/projects/${api.teamId}/batch_exports`;
  });
  afterAll(async () => {
    await fake?.close();
    await api?.stop();
  });

  const createPostgres = async () => {
    const response = await api.call('POST', exports, {
      body: {
        name: 'warehouse',
        destination: {
          type: 'Postgres',
          config: {
            host: '127.0.0.1',
            port: 5432,
            user: 'postgres',
            password: STORED_PASSWORD,
            database: 'postgres',
            table_name: 'events',
          },
        },
      },
    });
    expect(response.status, response.text).toBe(201);
    return response.body.id as string;
  };
  const patch = (id: string, config: Record<string, unknown>) =>
    api.call('PATCH', `${exports}/${id}`, { body: { destination: { config } } });
  const storedConfig = async (id: string) =>
    (await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, id))!.config;

  it('refuses a PATCH of host, port, database or user without the password, naming it', async () => {
    const id = await createPostgres();
    for (const change of [{ host: 'localhost' }, { port: fake.port }, { database: 'other' }, { user: 'someone' }]) {
      const response = await patch(id, change);
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({ code: 'secret_required', attr: 'destination.config.password' });
      expect(response.body.detail).toMatch(/^password (and user )?must be sent again when \w+ changes/);
    }
    expect(await storedConfig(id)).toMatchObject({ host: '127.0.0.1', port: 5432, password: STORED_PASSWORD });
  });

  it('accepts a PATCH that sends the secrets with the new host, or changes nothing they depend on', async () => {
    const id = await createPostgres();
    expect((await patch(id, { table_name: 'other_table', port: 5432 })).status).toBe(200);
    const moved = await patch(id, { host: 'localhost', user: 'postgres', password: 'new-password' });
    expect(moved.status, moved.text).toBe(200);
    expect(await storedConfig(id)).toMatchObject({ host: 'localhost', password: 'new-password' });
  });

  it('refuses a test step with an overridden host and no password; nothing reaches the other server', async () => {
    const id = await createPostgres();
    const response = await api.call('POST', `${exports}/${id}/run_test_step`, {
      body: { step: 0, destination: { config: { host: 'localhost', port: fake.port } } },
    });
    expect(response.status, response.text).toBe(400);
    expect(response.body.attr).toBe('destination.config.password');
    expect(fake.connections()).toBe(0);
  });

  it('sends a test step with an overridden port only the secrets it was given, never the stored ones', async () => {
    const id = await createPostgres();
    const response = await api.call('POST', `${exports}/${id}/run_test_step`, {
      body: { step: 0, destination: { config: { port: fake.port, user: 'postgres', password: 'sent-for-the-test' } } },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body.result).toMatchObject({ status: 'Failed', message: /Password authentication failed/ });
    const received = fake.received().toString('latin1');
    expect(received).toContain('sent-for-the-test');
    expect(received).not.toContain(STORED_PASSWORD);
  });

  it('refuses an S3 endpoint_url, bucket, region or addressing change without the keys, on PATCH and test step', async () => {
    const listener = await startRecordingServer();
    try {
      const created = await api.createExport();
      const url = `${exports}/${created.id}`;
      for (const change of [
        { endpoint_url: `http://127.0.0.1:${listener.port}` },
        { bucket_name: 'another-bucket' },
        { region: 'eu-west-1' },
        { use_virtual_style_addressing: true },
      ]) {
        const patched = await patch(created.id, change);
        const step = await api.call('POST', `${url}/run_test_step`, {
          body: { step: 0, destination: { config: change } },
        });
        for (const response of [patched, step]) {
          expect(response.status, response.text).toBe(400);
          expect(response.body.attr).toBe('destination.config.aws_access_key_id');
        }
      }
      expect(listener.connections()).toBe(0);
      const withKeys = await patch(created.id, { bucket_name: 'another-bucket', ...TEST_CREDENTIALS });
      expect(withKeys.status, withKeys.text).toBe(200);
    } finally {
      await listener.close();
    }
  });
});

describe('S3 with the worker credentials, when the operator lends them', () => {
  let api: ApiTest;

  beforeAll(async () => {
    api = await startApiTest({
      env: { DESTINATION_ALLOWED_NETWORKS: LOOPBACK_NETWORKS, S3_ALLOW_WORKER_CREDENTIALS: 'true' },
    });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('accepts an S3 destination without keys, and a PATCH removing them (null)', async () => {
    const exports = `/api/projects/${api.teamId}/batch_exports`;
    const keyless = await api.call('POST', exports, {
      body: { name: 'keyless', destination: { type: 'S3', config: { bucket_name: 'my-bucket', region: 'eu-west-1' } } },
    });
    expect(keyless.status, keyless.text).toBe(201);
    const created = await api.createExport();
    const response = await api.call('PATCH', `${exports}/${created.id}`, {
      body: { destination: { config: { aws_access_key_id: null, aws_secret_access_key: null } } },
    });
    expect(response.status, response.text).toBe(200);
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, created.id);
    expect(stored?.config).not.toHaveProperty('aws_access_key_id');
    expect(stored?.config).not.toHaveProperty('aws_secret_access_key');
  });
});
