import { beforeAll, describe, expect, it } from 'vitest';
import { listKeys, TEST_CREDENTIALS } from '../helpers/s3';
import { useApiTest } from './helpers';

describe('destination test steps API', () => {
  const api = useApiTest();
  let org: string;

  beforeAll(async () => {
    org = `/api/organizations/${api.organizationId}/batch_exports`;
  });

  const runStep = async (step: number, destination: unknown) =>
    api.call('POST', `${org}/run_test_step_new`, { body: { name: 'draft', step, destination } });

  it('lists the steps of a destination type', async () => {
    const response = await api.call('GET', `${org}/test?destination=S3`);
    expect(response.status).toBe(200);
    expect(response.body.steps.map((step: { name: string }) => step.name)).toEqual([
      'Connect with the credentials',
      'Check the bucket exists',
      'Write and delete a test object',
    ]);
    const unknown = await api.call('GET', `${org}/test?destination=BigQuery`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.attr).toBe('destination');
  });

  it('passes every step for a working bucket, leaving no test object behind', async () => {
    const destination = await api.s3Destination({ prefix: 'checks/{year}' });
    for (const step of [0, 1, 2]) {
      const response = await runStep(step, destination);
      expect(response.status).toBe(200);
      expect(response.body.result, `step ${step}`).toEqual({ status: 'Passed', message: null });
    }
    expect(await listKeys(api.s3, destination.config.bucket_name as string)).toEqual([]);
  });

  it('reaches an endpoint named by a host name the network policy allows (resolved once, through the policy)', async () => {
    const endpoint = new URL(api.stack.s3Endpoint);
    endpoint.hostname = 'localhost';
    const destination = await api.s3Destination({ endpoint_url: endpoint.toString() });
    for (const step of [0, 2]) {
      const response = await runStep(step, destination);
      expect(response.body.result, `step ${step}`).toEqual({ status: 'Passed', message: null });
    }
  });

  it('fails the bucket steps for a missing bucket, saying so', async () => {
    const destination = await api.s3Destination();
    destination.config.bucket_name = 'no-such-bucket-here';
    const exists = await runStep(1, destination);
    expect(exists.status).toBe(200);
    expect(exists.body).toMatchObject({ name: 'Check the bucket exists', result: { status: 'Failed' } });
    expect(exists.body.result.message).toMatch(/"no-such-bucket-here" does not exist/);
    const write = await runStep(2, destination);
    expect(write.body.result.status).toBe('Failed');
    expect(write.body.result.message).toMatch(/bucket/i);
  });

  it('fails the first step when the endpoint cannot be reached, without echoing secrets', async () => {
    const destination = await api.s3Destination({ endpoint_url: 'http://127.0.0.1:1' });
    const response = await runStep(0, destination);
    expect(response.body.result.status).toBe('Failed');
    expect(response.body.result.message).toMatch(/Could not reach http:\/\/127\.0\.0\.1:1/);
    expect(response.text).not.toContain('testing-secret');
  });

  it('validates the config and the step number', async () => {
    const destination = await api.s3Destination();
    const badConfig = await runStep(0, { type: 'S3', config: { ...destination.config, bucket: 'x' } });
    expect(badConfig.status).toBe(400);
    expect(badConfig.body.attr).toBe('destination.config.bucket');
    const badStep = await runStep(7, destination);
    expect(badStep.status).toBe(400);
    expect(badStep.body.attr).toBe('step');
    const badType = await runStep(0, { type: 'BigQuery', config: {} });
    expect(badType.status).toBe(400);
    expect(badType.body.attr).toBe('destination.type');
  });

  it("runs a step against a saved export's destination, with config fields laid over it", async () => {
    const created = await api.call('POST', org, { body: { name: 'saved', destination: await api.s3Destination() } });
    const url = `${org}/${created.body.id}/run_test_step`;
    const stored = await api.call('POST', url, { body: { step: 2 } });
    expect(stored.status).toBe(200);
    expect(stored.body.result.status).toBe('Passed');
    const overridden = await api.call('POST', url, {
      body: { step: 1, destination: { config: { bucket_name: 'not-the-saved-one', ...TEST_CREDENTIALS } } },
    });
    expect(overridden.body.result.status).toBe('Failed');
    expect(overridden.body.result.message).toMatch(/not-the-saved-one/);
  });
});
