import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

const KEY = randomBytes(32).toString('base64');

describe('loadConfig', () => {
  it('fills in defaults for a local setup when only the encryption key is given', () => {
    const config = loadConfig({ ENCRYPTION_KEY: KEY });
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/batch_exports');
    expect(config.sourceDatabaseUrl).toBe(config.databaseUrl);
    expect(config.temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'batch-exports',
    });
    expect(config.s3.partSizeBytes).toBe(8 * 1024 * 1024);
    expect(config.encryptionKey).toHaveLength(32);
  });

  it('derives concurrent activities from the memory budget unless they are set', () => {
    expect(loadConfig({ ENCRYPTION_KEY: KEY }).worker).toEqual({
      memoryBudgetMb: 2048,
      maxConcurrentActivities: 7,
      maxConcurrentLocalActivities: 50,
      maxConcurrentWorkflowTasks: 40,
      insertLocallyMaxRows: 10_000,
    });
    expect(loadConfig({ ENCRYPTION_KEY: KEY, WORKER_MEMORY_BUDGET_MB: '8192' }).worker.maxConcurrentActivities).toBe(
      31,
    );
    expect(loadConfig({ ENCRYPTION_KEY: KEY, WORKER_MEMORY_BUDGET_MB: '512' }).worker.maxConcurrentActivities).toBe(1);
    const explicit = loadConfig({
      ENCRYPTION_KEY: KEY,
      WORKER_MEMORY_BUDGET_MB: '512',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '3',
    });
    expect(explicit.worker.maxConcurrentActivities).toBe(3);
    expect(() => loadConfig({ ENCRYPTION_KEY: KEY, WORKER_MEMORY_BUDGET_MB: '100' })).toThrow(
      'WORKER_MEMORY_BUDGET_MB',
    );
  });

  it('reads smaller batches for files than for tables, unless SOURCE_BATCH_MB sets both', () => {
    const MB = 1024 * 1024;
    const defaults = loadConfig({ ENCRYPTION_KEY: KEY }).source;
    expect([defaults.fileBatchBytes, defaults.batchBytes]).toEqual([2 * MB, 4 * MB]);
    const set = loadConfig({ ENCRYPTION_KEY: KEY, SOURCE_BATCH_MB: '0.5' }).source;
    expect([set.fileBatchBytes, set.batchBytes]).toEqual([MB / 2, MB / 2]);
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig({})).toThrow(new ConfigError('Invalid environment: ENCRYPTION_KEY is required'));
  });

  it('names every bad variable and says what is wrong with it', () => {
    let error: unknown;
    try {
      loadConfig({
        ENCRYPTION_KEY: 'c2hvcnQ=',
        TEMPORAL_ADDRESS: 'no-port',
        S3_PART_SIZE_MB: '2',
        DATABASE_URL: 'mysql://x',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('ENCRYPTION_KEY must be 32 bytes encoded as base64');
    expect(message).toContain('TEMPORAL_ADDRESS must be host:port');
    expect(message).toMatch(/S3_PART_SIZE_MB .*5/);
    expect(message).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ ENCRYPTION_KEY: KEY, TEMPORAL_ADDRESS: '', SOURCE_DATABASE_URL: '' });
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.sourceDatabaseUrl).toBe(config.databaseUrl);
  });

  it('reads TLS settings only when TLS is on', () => {
    const off = loadConfig({ ENCRYPTION_KEY: KEY, TEMPORAL_TLS_CLIENT_CERT_PATH: '/cert.pem' });
    expect(off.temporal.tls).toBeUndefined();
    const on = loadConfig({ ENCRYPTION_KEY: KEY, TEMPORAL_TLS: 'true', TEMPORAL_TLS_CLIENT_CERT_PATH: '/cert.pem' });
    expect(on.temporal.tls).toEqual({
      clientCertPath: '/cert.pem',
      clientKeyPath: undefined,
      serverCaCertPath: undefined,
    });
  });
});
