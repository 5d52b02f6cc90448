import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiTest, type ApiTest } from './helpers';

const run = promisify(execFile);

describe('npm run cli: a new user gets an organization, a project and an API key', () => {
  let api: ApiTest;

  beforeAll(async () => {
    api = await startApiTest();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const cli = (...args: string[]) =>
    run('npx', ['tsx', 'scripts/cli.ts', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: api.stack.db.url,
        ENCRYPTION_KEY: api.stack.config.encryptionKey.toString('base64'),
        API_PORT: '18123',
      },
    });

  it('sets up an organization, project and key that the API accepts, storing only its hash', async () => {
    const { stdout } = await cli('setup', '--organization', 'Acme', '--project', 'Web', '--email', 'ada@acme.test');
    const key = /API key:\s+(\S+)/.exec(stdout)?.[1];
    const project = /Project:\s+(\d+)/.exec(stdout)?.[1];
    expect(key).toMatch(/^pak_/);
    expect(stdout).toContain(`curl -H "Authorization: Bearer $KEY" http://127.0.0.1:18123/api/projects/${project}/`);

    const response = await api.call('GET', `/api/projects/${project}/batch_exports`, { key: key! });
    expect(response.status).toBe(200);
    expect(response.body.count).toBe(0);
    const { rows } = await api.stack.db.pool.query('SELECT secure_value, mask_value FROM personal_api_keys');
    expect(rows.map((row) => row.secure_value)).not.toContain(key);
  });

  it('creates a read-only key limited to one project', async () => {
    const organization = (await cli('create-organization', '--name', 'Beta')).stdout.trim();
    const project = (await cli('create-project', '--organization-id', organization, '--name', 'App')).stdout.trim();
    const key = (
      await cli(
        'create-api-key',
        '--organization-id',
        organization,
        '--email',
        'bob@beta.test',
        '--scopes',
        'batch_export:read',
        '--projects',
        project,
      )
    ).stdout.trim();
    const base = `/api/projects/${project}/batch_exports`;
    expect((await api.call('GET', base, { key })).status).toBe(200);
    expect((await api.call('POST', base, { key, body: {} })).status).toBe(403);
  });

  it('explains what is wrong with a bad command', async () => {
    await expect(cli('create-project', '--organization-id', 'acme', '--name', 'x')).rejects.toMatchObject({
      stderr: expect.stringContaining('No organization acme'),
    });
    await expect(cli('create-api-key', '--organization-id', api.organizationId)).rejects.toMatchObject({
      stderr: expect.stringContaining('--email is required'),
    });
    await expect(
      cli('setup', '--organization', 'x', '--project', 'y', '--email', 'z', '--scopes', 'admin'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('Unknown scope "admin"'),
    });
  });

  it('explains every command with --help', async () => {
    const commands = [
      'exports',
      'exports list',
      'exports create',
      'exports show',
      'exports pause',
      'exports unpause',
      'exports delete',
      'backfill',
      'runs',
      'logs',
      'files',
      'setup',
      'create-organization',
      'create-project',
      'create-api-key',
    ];
    const { stdout: overview } = await cli('--help');
    for (const command of ['exports', 'backfill', 'runs', 'logs', 'files', 'setup'])
      expect(overview).toContain(command);
    for (const command of commands) {
      const { stdout } = await cli(...command.split(' '), '--help');
      expect(stdout, command).toContain(`Usage: npm run cli -- ${command}`);
    }
  });
});
