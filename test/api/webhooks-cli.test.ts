import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiTest, type ApiTest } from './helpers';

const run = promisify(execFile);

describe('npm run cli -- webhooks: webhooks and lateness alerts through the API', () => {
  let api: ApiTest;
  let apiUrl: string;

  beforeAll(async () => {
    api = await startApiTest();
    apiUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await api?.stop();
  });

  const cli = async (...args: string[]) => {
    const { stdout } = await run('npx', ['tsx', 'scripts/cli.ts', 'webhooks', ...args], {
      env: { ...process.env, BATCH_EXPORTS_API_URL: apiUrl, BATCH_EXPORTS_API_KEY: api.key },
    });
    return JSON.parse(stdout);
  };

  it('creates a webhook (printing its secret once), lists and deletes it', async () => {
    const project = String(api.teamId);
    const created = await cli(
      'webhook-create',
      '--project',
      project,
      '--url',
      'http://127.0.0.1:9/hook',
      '--events',
      'run.failed,batch_export.late',
    );
    expect(created).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['run.failed', 'batch_export.late'] });
    expect(created.secret).toMatch(/^whsec_/);

    const listed = await cli('webhook-list', '--project', project);
    expect(listed.results).toEqual([expect.objectContaining({ id: created.id })]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    await cli('webhook-delete', '--project', project, '--id', created.id);
    expect((await cli('webhook-list', '--project', project)).results).toEqual([]);
  });

  it('sets and removes a lateness alert, and names a bad value', async () => {
    const batchExport = await api.createExport();
    const args = ['--project', String(api.teamId), '--batch-export-id', batchExport.id];

    expect(await cli('freshness-alert', ...args, '--late-after', '7200')).toEqual({
      late_after_seconds: 7200,
      late_since: null,
    });
    expect(await cli('freshness-alert', ...args, '--late-after', 'off')).toEqual({
      late_after_seconds: null,
      late_since: null,
    });
    await expect(cli('freshness-alert', ...args, '--late-after', 'soon')).rejects.toMatchObject({
      stderr: expect.stringContaining('--late-after must be a positive number of seconds, or off'),
    });
  });
});
