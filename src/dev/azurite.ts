import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../destinations/azure-blob/client';

/** Azurite's documented development account and key: public, well-known values, the same in every Azurite. */
export const AZURITE_ACCOUNT = DEVELOPMENT_ACCOUNT;
export const AZURITE_KEY = DEVELOPMENT_KEY;

export interface AzuriteServer {
  /** The blob service URL of the development account: http://127.0.0.1:<port>/devstoreaccount1. */
  endpoint: string;
  /** The same account as a connection string, for other clients (the Python SDK). */
  connectionString: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Azurite's blob service (the `azurite` devDependency), in memory, on a free loopback port it chooses itself and
 * prints: for tests and the benchmark of the AzureBlob destination.
 */
export async function startAzurite(): Promise<AzuriteServer> {
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const args = ['--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck'];
  const child = spawn(process.execPath, [main, ...args, '--disableTelemetry'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const base = await new Promise<string>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output = (output + data.toString()).slice(-4000);
      const match = /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`Azurite exited (${code}): ${output}`)));
  });
  const endpoint = `${base}/${AZURITE_ACCOUNT}`;
  return {
    endpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${endpoint};`,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
