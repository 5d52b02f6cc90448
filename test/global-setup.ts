import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { ensureConsoleBuilt } from '../src/dev/build';
import { startMotoServer } from '../src/dev/moto';
import { startLocalTemporal } from '../src/dev/temporal-server';
import { WORKFLOWS_PATH } from '../src/temporal/workflows-path';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    s3Endpoint: string;
    workflowBundlePath: string;
  }
}

/**
 * Starts what every test file shares, once: a Temporal dev server, a moto S3 server, the workflow bundle; and builds
 * the web console when dist/console is missing or older than its sources (the API serves it, test/console/ drives it).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'batch-exports-test-'));
  const [temporal, moto, bundle] = await Promise.all([
    startLocalTemporal(),
    startMotoServer(),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
    ensureConsoleBuilt(),
  ]);
  const workflowBundlePath = path.join(directory, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', temporal.address);
  project.provide('s3Endpoint', moto.endpoint);
  project.provide('workflowBundlePath', workflowBundlePath);
  return async () => {
    await Promise.allSettled([temporal.env.teardown(), moto.stop()]);
    await rm(directory, { recursive: true, force: true });
  };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
