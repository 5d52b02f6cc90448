import { spawn } from 'node:child_process';
import { findExecutable } from './executables';
import { waitForPort } from './ports';
import { startLocalTemporal } from './temporal-server';

export interface DevTemporal {
  stop(): Promise<void>;
}

/**
 * The Temporal dev server of `npm run dev`, with its Web UI, in a process group of its own: Ctrl-C in the terminal
 * reaches the whole foreground group, and a server stopped at once would leave the worker retrying its last
 * workflow tasks instead of stopping. `npm run dev` stops it after the worker. Where no `temporal` executable is
 * installed, the SDK's download runs it instead (in the terminal's group).
 */
export async function startDevTemporal(options: {
  port: number;
  uiPort: number;
  dbFilename: string;
}): Promise<DevTemporal> {
  const executable = findExecutable('temporal', 'TEMPORAL_CLI_PATH');
  if (!executable) {
    const { env } = await startLocalTemporal(options);
    return { stop: () => env.teardown() };
  }
  const child = spawn(
    executable,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--ui-port',
      String(options.uiPort),
      '--db-filename',
      options.dbFilename,
      '--namespace',
      'default',
      '--log-level',
      'error',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should this process die without stopping it (an uncaught error), the server goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await Promise.race([
      waitForPort(options.port, '127.0.0.1', 60_000),
      exited.then(() => {
        throw new Error(`temporal server start-dev exited: ${stderr.trim()}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      process.removeListener('exit', killOnExit);
    },
  };
}
