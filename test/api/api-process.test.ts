import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys';
import { createOrganization, createProject } from '../../src/db/organizations';
import { useTestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');

describe('npm run api (scripts/api.ts)', () => {
  const stack = useTestStack({ worker: false });

  afterAll(async () => {
  });

  it('listens on API_HOST:API_PORT, serves authenticated requests and stops cleanly on SIGTERM', async () => {
    const organization = await createOrganization(stack.db.pool, 'Process test');
    const project = await createProject(stack.db.pool, organization.id, 'Process project');
    const { key } = await createApiKey(stack.db.pool, {
      organizationId: organization.id,
      userEmail: 'ops@example.com',
      label: 'process test',
      scopes: ['batch_export:read'],
      scopedProjectIds: null,
    });
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/api.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: stack.db.url,
        TEMPORAL_ADDRESS: stack.config.temporal.address,
        ENCRYPTION_KEY: stack.config.encryptionKey.toString('base64'),
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !output.includes('API listening') && child.exitCode === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain('API listening');

      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const list = await fetch(`http://127.0.0.1:${port}/api/projects/${project.id}/batch_exports/`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual({ count: 0, next: null, previous: null, results: [] });
      expect(output).not.toContain(key);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('API stopped');
  });
});
