import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');

describe('worker.ts', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  function startWorkerProcess(env: Record<string, string>) {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'worker.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (text: string) => {
      for (let i = 0; i < 600 && !output.includes(text); i++) {
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return output;
    };
    return { child, exited, waitFor, output: () => output };
  }

  it('starts with the prebuilt bundle and stops cleanly on SIGTERM', async () => {
    const worker = startWorkerProcess({
      DATABASE_URL: stack.db.url,
      TEMPORAL_ADDRESS: stack.config.temporal.address,
      TASK_QUEUE: stack.config.temporal.taskQueue,
      ENCRYPTION_KEY: stack.config.encryptionKey.toString('base64'),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    });

    expect(await worker.waitFor('Worker started')).toContain('Worker started');
    worker.child.kill('SIGTERM');

    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('Worker stopped');
  });

  it('refuses to start without its configuration, naming what is missing', async () => {
    const worker = startWorkerProcess({ DATABASE_URL: stack.db.url });

    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('ENCRYPTION_KEY is required');
  });
});
