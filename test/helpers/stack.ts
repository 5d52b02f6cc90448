import { randomBytes, randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import type { ServiceDependencies } from '../../src/service/batch-exports';
import { createWorker } from '../../src/temporal/worker';
import { createActivities } from '../../activities';
import { createTestDatabase, type TestDatabase } from './database';
import { createTeam } from './fixtures';
import { testS3Client } from './s3';

export interface TestStack {
  db: TestDatabase;
  config: Config;
  temporal: Client;
  services: ServiceDependencies;
  s3Endpoint: string;
  /** Starts a worker on this stack's task queue; `stop` (and the stack's `stop`) shut it down. */
  startWorker(): Promise<{ worker: Worker; stop: () => Promise<void> }>;
  stop(): Promise<void>;
}

/** Loopback, IPv4 and IPv6: what the tests' destinations may reach. */
export const LOOPBACK_NETWORKS = '127.0.0.0/8,::1/128';

/**
 * Everything one test file needs, real: its own migrated database, a Temporal client and a worker on a task queue of
 * its own (against the dev server global setup started), and the moto S3 endpoint.
 */
let runtimeInstalled = false;

export async function startTestStack(
  options: { worker?: boolean; env?: Record<string, string> } = {},
): Promise<TestStack> {
  if (!runtimeInstalled) {
    // The SDK logs every worker state change at INFO; tests only want to see problems.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const db = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TASK_QUEUE: `test-${randomUUID()}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    S3_PART_SIZE_MB: '5',
    // Postgres, moto and the fake servers of the tests are on loopback, which the default policy refuses; a test of
    // the default passes DESTINATION_ALLOWED_NETWORKS: '' in `env`.
    DESTINATION_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    ...options.env,
  });
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const workers: Array<() => Promise<void>> = [];

  const startWorker = async () => {
    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    const worker = await createWorker({
      connection: nativeConnection,
      config,
      activities: createActivities({ pool: db.pool, sourcePool: db.pool, config }),
      workflowBundlePath: inject('workflowBundlePath'),
      overrides: { shutdownGraceTime: '1 second' },
    });
    const running = worker.run();
    const stop = async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await nativeConnection.close();
    };
    workers.push(stop);
    return { worker, stop };
  };
  if (options.worker !== false) await startWorker();

  return {
    db,
    config,
    temporal,
    services: { pool: db.pool, temporal, config },
    s3Endpoint: inject('s3Endpoint'),
    startWorker,
    async stop() {
      await Promise.allSettled(workers.map((stop) => stop()));
      await connection.close();
      await db.drop();
    },
  };
}

/**
 * The stack of one test file, started before its tests (before the file's own beforeAll hooks, which may use it) and
 * stopped after them (after the file's own afterAll hooks). Call it at the top of the describe block; the returned
 * object is empty until the stack has started.
 */
export function useTestStack(options: Parameters<typeof startTestStack>[0] = {}): TestStack {
  const stack = {} as TestStack;
  beforeAll(async () => {
    Object.assign(stack, await startTestStack(options));
  });
  afterAll(async () => {
    await stack.stop?.();
  });
  return stack;
}

/**
 * A team of its own and an S3 client for the stack's S3 server, made before the file's tests (after the stack) and
 * closed after them. `assign` receives them, so that a file keeps its `s3` and `teamId` variables.
 */
export function useTeamAndS3(stack: TestStack, assign: (made: { s3: S3Client; teamId: number }) => void): void {
  let s3: S3Client | undefined;
  beforeAll(async () => {
    s3 = testS3Client(stack.s3Endpoint);
    const { teamId } = await createTeam(stack.db.pool);
    assign({ s3, teamId });
  });
  afterAll(() => {
    s3?.destroy();
  });
}
