import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBatchExport } from '../../src/service/batch-exports';
import { createTeam } from '../helpers/fixtures';
import { insertAttempts, QUICK_RETRIES, runPostgresInterval } from '../helpers/postgres-exports';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server';
import { TEST_CREDENTIALS } from '../helpers/s3';
import { intervalInput, runInterval } from '../helpers/s3-exports';
import { LOOPBACK_NETWORKS } from '../helpers/stack';
import { useApiTest } from './helpers';

/**
 * The default (strict) network policy: this file's stack allows no extra network. Every refused destination points
 * at a recording listener on loopback, which proves that nothing was dialled.
 */
describe('destination network policy (default: public addresses only)', () => {
  const api = useApiTest({ worker: true, env: { DESTINATION_ALLOWED_NETWORKS: '' } });
  let listener: RecordingServer;
  let exports: string;

  beforeAll(async () => {
    exports = `/api/projects/${api.teamId}/batch_exports`;
  });
  beforeEach(async () => {
    await listener?.close();
    listener = await startRecordingServer({ postgres: true });
  });
  afterAll(async () => {
    await listener?.close();
  });

  const postgres = (config: Record<string, unknown>) => ({
    type: 'Postgres',
    config: {
      port: listener.port,
      user: 'postgres',
      password: 'a-password',
      database: 'postgres',
      table_name: 'events',
      ...config,
    },
  });
  const s3 = (config: Record<string, unknown>) => ({
    type: 'S3',
    config: { bucket_name: 'some-bucket', ...TEST_CREDENTIALS, ...config },
  });
  // Saving through a service that allows loopback stands for a policy narrowed after the save.
  const lenient = () => ({
    ...api.stack.services,
    config: {
      ...api.stack.config,
      destinationAccess: { allowedNetworks: LOOPBACK_NETWORKS.split(','), s3WorkerCredentials: false },
    },
  });
  const create = (destination: unknown) => api.call('POST', exports, { body: { name: 'refused', destination } });
  const testStep = (destination: unknown) =>
    api.call('POST', `${exports}/run_test_step_new`, { body: { step: 0, destination } });

  const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a loopback IPv4 address', { host: '127.0.0.1' }, 'host', /host "127\.0\.0\.1" is a loopback address/],
    ['cloud metadata', { host: '169.254.169.254' }, 'host', /host "169\.254\.169\.254" is a link-local address/],
    ['a name resolving to loopback', { host: 'localhost' }, 'host', /host "localhost" resolves to a loopback address/],
    ['IPv4-mapped IPv6 loopback', { host: '::ffff:127.0.0.1' }, 'host', /is a loopback address/],
    ['IPv6 loopback', { host: '::1' }, 'host', /host "::1" is a loopback address/],
    ['a private address', { host: '10.1.2.3' }, 'host', /host "10\.1\.2\.3" is a private address \(RFC 1918\)/],
    ['CGNAT', { host: '100.64.0.1' }, 'host', /carrier-grade NAT/],
    ['the unspecified address', { host: '0.0.0.0' }, 'host', /unspecified/],
  ];

  for (const [what, config, field, message] of refusals) {
    it(`refuses a Postgres destination at ${what} on create and test step, dialling nothing`, async () => {
      for (const response of [await create(postgres(config)), await testStep(postgres(config))]) {
        expect(response.status, response.text).toBe(400);
        expect(response.body).toMatchObject({ code: 'destination_not_allowed', attr: `destination.config.${field}` });
        expect(response.body.detail).toMatch(message);
        expect(response.body.detail).toContain('DESTINATION_ALLOWED_NETWORKS');
      }
      expect(listener.connections()).toBe(0);
    });
  }

  it('refuses an S3 endpoint_url on loopback, by address or by name, dialling nothing', async () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const destination = s3({ endpoint_url: `http://${host}:${listener.port}` });
      for (const response of [await create(destination), await testStep(destination)]) {
        expect(response.status, response.text).toBe(400);
        expect(response.body.attr).toBe('destination.config.endpoint_url');
        expect(response.body.detail).toMatch(/loopback address/);
      }
    }
    expect(listener.connections()).toBe(0);
  });

  it('refuses S3 without keys: the worker does not lend its own AWS credentials by default', async () => {
    const keyless = { type: 'S3', config: { bucket_name: 'some-bucket', region: 'eu-west-1' } };
    for (const response of [await create(keyless), await testStep(keyless)]) {
      expect(response.status, response.text).toBe(400);
      expect(response.body.attr).toBe('destination.config.aws_access_key_id');
      expect(response.body.detail).toMatch(/does not lend its own AWS credentials/);
    }
  });

  it('PATCH of a host onto cloud metadata is refused, the stored destination kept', async () => {
    const saved = await createBatchExport(lenient(), api.teamId, {
      name: 'saved when allowed',
      destination: postgres({ host: '127.0.0.2' }),
    });
    const response = await api.call('PATCH', `${exports}/${saved.id}`, {
      body: { destination: { config: { host: '169.254.169.254', user: 'postgres', password: 'a-password' } } },
    });
    expect(response.status, response.text).toBe(400);
    expect(response.body.attr).toBe('destination.config.host');
    expect((await api.call('GET', `${exports}/${saved.id}`)).body.destination.config.host).toBe('127.0.0.2');
  });

  describe('at run time (exports saved before the policy was narrowed)', () => {
    let teamId: number;

    beforeAll(async () => {
      ({ teamId } = await createTeam(api.stack.db.pool));
    });

    it('fails a Postgres run at once, in the words of the 400, without connecting', async () => {
      const refused = await create(postgres({ host: '127.0.0.1' }));
      const saved = await createBatchExport(lenient(), teamId, {
        name: 'saved when allowed',
        destination: postgres({ host: '127.0.0.1' }),
      });
      const { run } = await runPostgresInterval(api.stack, teamId, saved.id, '2024-08-01T11:00:00Z');
      expect(run.status).toBe('Failed');
      expect(run.latest_error).toContain(refused.body.detail);
      expect(await insertAttempts(api.stack, `${saved.id}-2024-08-01T11:00:00Z`)).toEqual([1]);
      expect(listener.connections()).toBe(0);
    });

    it('fails an S3 run at once when its endpoint name resolves to loopback, without connecting', async () => {
      const endpoint = `http://localhost:${listener.port}`;
      const refused = await create(s3({ endpoint_url: endpoint }));
      const saved = await createBatchExport(lenient(), teamId, {
        name: 'saved when allowed',
        destination: s3({ endpoint_url: endpoint }),
      });
      const input = intervalInput(saved.id, teamId, '2024-08-01T11:00:00Z', QUICK_RETRIES);
      const { run } = await runInterval(api.stack, 's3-export', input);
      expect(run.status).toBe('Failed');
      expect(run.latest_error).toContain(refused.body.detail);
      expect(listener.connections()).toBe(0);
    });
  });
});
