import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { getDestinationConfigWithSecrets } from '../../src/db/batch-exports';
import { SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, snowflakeConfig, useFakesnow } from '../helpers/snowflake-exports';
import { useApiTest } from './helpers';

describe('Snowflake destinations through the API (fakesnow server)', () => {
  const api = useApiTest();
  const server = useFakesnow();
  let org: string;
  let exports: string;

  beforeAll(async () => {
    org = `/api/organizations/${api.organizationId}/batch_exports`;
    exports = `/api/projects/${api.teamId}/batch_exports`;
  });

  const runStep = (step: number, config: Record<string, unknown>) =>
    api.call('POST', `${org}/run_test_step_new`, {
      body: { name: 'draft', step, destination: { type: 'Snowflake', config } },
    });

  it('lists and passes the test steps: log in, use the warehouse/database/schema, create and drop a probe table', async () => {
    const listed = await api.call('GET', `${org}/test?destination=Snowflake`);
    expect(listed.status).toBe(200);
    expect(listed.body.steps.map((step: { name: string }) => step.name)).toEqual([
      'Log in to Snowflake',
      'Use the warehouse, database and schema',
      'Create and drop a probe table',
    ]);
    for (const step of [0, 1, 2]) {
      const response = await runStep(step, snowflakeConfig(server));
      expect(response.status, response.text).toBe(200);
      expect(response.body.result, `step ${step}`).toEqual({ status: 'Passed', message: null });
    }
    // The probe table is gone again.
    const tables = await server.query(
      SNOWFLAKE_DATABASE,
      SNOWFLAKE_SCHEMA,
      `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'batch_export_probe%'`,
    );
    expect(tables).toEqual([]);
  });

  it('fails the context step for a missing schema, saying which names to check, without echoing the password', async () => {
    const response = await runStep(1, snowflakeConfig(server, { schema: 'NO_SUCH_SCHEMA' }));
    expect(response.status).toBe(200);
    expect(response.body.result.status).toBe('Failed');
    expect(response.body.result.message).toContain('schema "NO_SUCH_SCHEMA" does not exist');
    expect(response.text).not.toContain('a-password');
  });

  it('fails the login step when nothing answers at the host, as a connection problem', async () => {
    const response = await runStep(0, snowflakeConfig(server, { port: 1 }));
    expect(response.body.result.status).toBe('Failed');
    expect(response.body.result.message).toContain('Could not reach Snowflake at 127.0.0.1');
  });

  it('logs in with a key pair (an encrypted PEM and its passphrase); a wrong passphrase fails saying so', async () => {
    // fakesnow does not check the JWT's signature: this checks that the driver signs one with the key given.
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'key-passphrase' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const keyPair = { password: undefined, private_key: privateKey, private_key_passphrase: 'key-passphrase' };
    const passed = await runStep(0, snowflakeConfig(server, keyPair));
    expect(passed.body.result).toEqual({ status: 'Passed', message: null });
    const wrong = await runStep(0, snowflakeConfig(server, { ...keyPair, private_key_passphrase: 'not-it' }));
    expect(wrong.body.result.status).toBe('Failed');
    expect(wrong.body.result.message).toContain('The private key cannot be read: check private_key');
    expect(wrong.text).not.toContain('PRIVATE KEY');
  });

  it('validates the config, naming the field', async () => {
    // Left out of the JSON body.
    const missing = await runStep(0, snowflakeConfig(server, { password: undefined }));
    expect(missing.status).toBe(400);
    expect(missing.body.attr).toBe('destination.config.password');
    const badHost = await runStep(0, snowflakeConfig(server, { host: 'http://127.0.0.1' }));
    expect(badHost.status).toBe(400);
    expect(badHost.body.attr).toBe('destination.config.host');
  });

  it('keeps the password write-only and bound to account, host, port and user', async () => {
    const created = await api.call('POST', exports, {
      body: { name: 'warehouse', destination: { type: 'Snowflake', config: snowflakeConfig(server) } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.destination.config).not.toHaveProperty('password');
    expect(created.text).not.toContain('a-password');
    const id = created.body.id as string;
    const fetched = await api.call('GET', `${exports}/${id}`);
    expect(fetched.text).not.toContain('a-password');

    const moved = await api.call('PATCH', `${exports}/${id}`, {
      body: { destination: { config: { host: 'localhost' } } },
    });
    expect(moved.status).toBe(400);
    expect(moved.body).toMatchObject({ code: 'secret_required', attr: 'destination.config.password' });
    const renamed = await api.call('PATCH', `${exports}/${id}`, {
      body: { destination: { config: { table_name: 'other' } } },
    });
    expect(renamed.status, renamed.text).toBe(200);
    const stored = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, id);
    expect(stored!.config).toMatchObject({ password: 'a-password', table_name: 'other' });

    // From password to key pair: null removes the stored password (both at once are refused).
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const both = await api.call('PATCH', `${exports}/${id}`, {
      body: { destination: { config: { private_key: privateKey } } },
    });
    expect(both.status).toBe(400);
    expect(both.body.attr).toBe('destination.config.private_key');
    const switched = await api.call('PATCH', `${exports}/${id}`, {
      body: { destination: { config: { password: null, private_key: privateKey } } },
    });
    expect(switched.status, switched.text).toBe(200);
    expect(switched.text).not.toContain('PRIVATE KEY');
    const keyed = await getDestinationConfigWithSecrets(api.stack.db.pool, api.stack.config.encryptionKey, id);
    expect(keyed!.config).toMatchObject({ private_key: privateKey });
    expect(keyed!.config).not.toHaveProperty('password');
  });
});
