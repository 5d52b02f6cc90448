import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiTest, type ApiTest } from './helpers';

const run = promisify(execFile);

describe('npm run cli -- exports create: an HTTP export from the README example', () => {
  let api: ApiTest;
  let apiUrl: string;

  beforeAll(async () => {
    api = await startApiTest();
    apiUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('creates it from the API body in a file, and never prints the token', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'http-cli-'));
    const file = path.join(directory, 'http-export.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'events to our collector',
        interval: 'hour',
        destination: {
          type: 'HTTP',
          config: { url: 'http://127.0.0.1:9/batch/', token: 'phc_cli-token', format: 'capture', compression: 'gzip' },
        },
      }),
    );
    const env = {
      ...process.env,
      BATCH_EXPORTS_API_URL: apiUrl,
      BATCH_EXPORTS_API_KEY: api.key,
      BATCH_EXPORTS_PROJECT_ID: String(api.teamId),
    };
    const created = await run('npx', ['tsx', 'scripts/cli.ts', 'exports', 'create', '--file', file], { env });
    const shown = await run('npx', ['tsx', 'scripts/cli.ts', 'exports', 'show', 'events to our collector'], { env });

    for (const output of [created.stdout, shown.stdout]) expect(output).not.toContain('phc_cli-token');
    expect(shown.stdout).toContain('events to our collector');
    const listed = await api.call('GET', `/api/projects/${api.teamId}/batch_exports`);
    expect(listed.body.results).toEqual([
      expect.objectContaining({
        name: 'events to our collector',
        destination: {
          type: 'HTTP',
          config: expect.objectContaining({ url: 'http://127.0.0.1:9/batch/', format: 'capture', compression: 'gzip' }),
        },
      }),
    ]);
    expect(listed.body.results[0].destination.config).not.toHaveProperty('token');
  });
});
