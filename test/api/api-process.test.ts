import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys';
import { createOrganization, createProject } from '../../src/db/organizations';
import { spawnApiProcess } from '../helpers/api-process';
import { useTestStack } from '../helpers/stack';

describe('npm run api (scripts/api.ts)', () => {
  const stack = useTestStack({ worker: false });

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
    const api = spawnApiProcess({
      DATABASE_URL: stack.db.url,
      TEMPORAL_ADDRESS: stack.config.temporal.address,
      ENCRYPTION_KEY: stack.config.encryptionKey.toString('base64'),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
    });
    try {
      expect(await api.listening()).toContain('API listening');

      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const list = await fetch(`http://127.0.0.1:${port}/api/projects/${project.id}/batch_exports/`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual({ count: 0, next: null, previous: null, results: [] });
      expect(api.output()).not.toContain(key);
    } finally {
      api.child.kill('SIGTERM');
    }
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('API stopped');
  });
});
